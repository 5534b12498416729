import Foundation
import HTTPServer

extension Application {
    /// `GET /dashboard`: one self-contained page (no external scripts, styles, fonts or images) that
    /// polls the cohort endpoints with the analyst key the user pasted. The page itself needs no
    /// credentials; every data request it makes carries the key as a bearer header.
    func addDashboardRoute(to router: inout Router) {
        // The page is static but for the script nonce, which is new on every response: split once.
        let parts = Self.dashboardHTML.components(separatedBy: Self.dashboardNoncePlaceholder)
        let pieces = parts.map { Array($0.utf8) }
        router.get("/dashboard") { _ in
            let nonce = Self.makeNonce()
            var body: [UInt8] = []
            body.reserveCapacity(pieces.reduce(0) { $0 + $1.count } + nonce.utf8.count * (pieces.count - 1))
            for (index, piece) in pieces.enumerated() {
                if index > 0 { body += nonce.utf8 }
                body += piece
            }
            var response = HTTPResponse(status: 200, contentType: "text/html; charset=utf-8", body: body)
            response.headers.set("Content-Security-Policy", Self.dashboardContentSecurityPolicy(nonce: nonce))
            response.headers.set("X-Content-Type-Options", "nosniff")
            response.headers.set("Referrer-Policy", "no-referrer")
            response.headers.set("X-Frame-Options", "DENY")
            response.headers.set("Cache-Control", "no-store")
            return response
        }
    }

    /// Only the page's own nonce-tagged script runs: an event-handler attribute or a script that
    /// reached the document some other way (e.g. inside a plot) does not. Data comes from this origin only.
    static func dashboardContentSecurityPolicy(nonce: String) -> String {
        "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'unsafe-inline'; connect-src 'self'; "
            + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    static let dashboardNoncePlaceholder = "{{CSP_NONCE}}"

    /// 128 random bits, base64 (CSP nonces must be unguessable and fresh per response).
    static func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<2 { withUnsafeBytes(of: generator.next() as UInt64) { bytes += $0 } }
        return Data(bytes).base64EncodedString()
    }

    /// The dashboard document. Everything the server sends is inserted as text (`textContent`) or,
    /// for the plots, as a parsed and cleaned SVG node; never as HTML markup.
    static let dashboardHTML = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>ICMM Registry: cohort dashboard</title>
        <style>
          :root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad;
                  --ok: #1a7f37; --bad: #b42318; --bad-bg: #fdecea; --warn-bg: #fff8e1; --panel: #f6f8fa; }
          * { box-sizing: border-box; }
          body { margin: 0; background: #fff; color: var(--ink);
                 font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
          header, main, footer { max-width: 1240px; margin: 0 auto; padding: 0 20px; }
          header { padding-top: 18px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
          h1 { font-size: 1.45rem; margin: 0 0 2px; }
          h2 { font-size: 1.15rem; margin: 24px 0 8px; }
          h3 { font-size: 1rem; margin: 0 0 6px; }
          .subtitle { margin: 0; color: var(--muted); }
          .bar { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: flex-end; justify-content: space-between; margin-top: 12px; }
          form { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-end; }
          label { display: block; font-size: .85rem; color: var(--muted); }
          input[type=password] { width: 22em; max-width: 100%; padding: 5px 8px; font: inherit; border: 1px solid #8c959f; border-radius: 4px; }
          button { font: inherit; padding: 5px 12px; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--ink); cursor: pointer; }
          button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
          button:focus-visible, input:focus-visible { outline: 3px solid #7fb2ea; outline-offset: 1px; }
          .meta { color: var(--muted); font-size: .9rem; margin: 0; }
          .refresh { display: flex; flex-wrap: wrap; gap: 6px 12px; align-items: center; }
          #key-state { align-self: flex-end; padding-bottom: 7px; }
          tbody th { white-space: nowrap; }
          .meta strong { color: var(--ink); font-weight: 600; }
          #status { margin: 12px 0 0; padding: 8px 12px; border-radius: 4px; border-left: 4px solid var(--line); background: var(--panel); }
          #status[data-state="ok"] { border-left-color: var(--ok); }
          #status[data-state="error"], #status[data-state="refused"] { border-left-color: var(--bad); background: var(--bad-bg); color: var(--bad); font-weight: 600; }
          #status[data-state="stale"] { border-left-color: #b08800; background: var(--warn-bg); }
          table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
          caption { text-align: left; color: var(--muted); font-size: .9rem; caption-side: bottom; padding-top: 6px; }
          th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
          th:first-child, td:first-child { text-align: left; }
          thead th { font-size: .85rem; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
          tbody tr.total { font-weight: 600; background: var(--panel); }
          td.suppressed { color: var(--muted); font-style: italic; }
          .table-wrap { overflow-x: auto; }
          /* The plots are drawn 800 units wide with 12-13 unit text: one per row keeps the number-at-risk table legible. */
          .plots { display: grid; grid-template-columns: minmax(0, 920px); gap: 20px; }
          figure { margin: 0; padding: 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; min-width: 0; }
          figcaption { color: var(--muted); font-size: .85rem; margin-top: 6px; }
          .plot svg { display: block; width: 100%; height: auto; }
          .plot .placeholder { margin: 0; padding: 40px 12px; text-align: center; color: var(--muted); background: var(--panel); border-radius: 4px; }
          .plot .placeholder.unavailable { color: var(--bad); }
          footer { color: var(--muted); font-size: .8rem; padding-top: 20px; padding-bottom: 24px; }
          [hidden] { display: none !important; }
          @media (max-width: 640px) { input[type=password] { width: 100%; } }
        </style>
        </head>
        <body>
        <header>
          <h1>ICMM Registry: cohort dashboard</h1>
          <p class="subtitle">Multiple myeloma with intracranial involvement, pooled cases of every site.
            Overall survival counted from the intracranial diagnosis.</p>
          <div class="bar">
            <form id="key-form" autocomplete="off">
              <div>
                <label for="key-input">Analyst API key</label>
                <input id="key-input" name="key" type="password" spellcheck="false" autocomplete="off"
                       placeholder="Paste the key once" aria-describedby="key-state">
              </div>
              <button type="submit" class="primary">Use key</button>
              <button type="button" id="forget-key">Forget key</button>
              <p id="key-state" class="meta">No key stored.</p>
            </form>
            <div class="refresh">
              <p class="meta">Registry data version <strong id="data-version">–</strong>
                · last refresh <time id="last-refresh">never</time></p>
              <button type="button" id="refresh-now">Refresh now</button>
            </div>
          </div>
          <p id="status" role="status" aria-live="polite" data-state="needs-key">Paste an analyst API key to load the dashboard.</p>
        </header>
        <main>
          <section aria-labelledby="summary-title">
            <h2 id="summary-title">Cohort summary by intracranial localization</h2>
            <div class="table-wrap">
              <table id="summary-table">
                <caption id="summary-note">OD: osteodural (skull lesion growing into the dura). CNS: myeloma cells in the
                  brain, the leptomeninges or the cerebrospinal fluid. Medians with 95% confidence intervals;
                  follow-up by reverse Kaplan-Meier. NR: not reached.</caption>
                <thead>
                  <tr>
                    <th scope="col">Group</th>
                    <th scope="col">Patients</th>
                    <th scope="col">Deaths</th>
                    <th scope="col">Progressions</th>
                    <th scope="col">Median age at intracranial diagnosis, years</th>
                    <th scope="col">Median follow-up, months (95% CI)</th>
                    <th scope="col">Median overall survival, months (95% CI)</th>
                  </tr>
                </thead>
                <tbody id="summary-body"></tbody>
              </table>
            </div>
            <p id="logrank" class="meta"></p>
          </section>
          <section aria-labelledby="plots-title">
            <h2 id="plots-title">Kaplan-Meier curves of overall survival</h2>
            <div class="plots">
              <figure>
                <h3 id="plot-localization-title">Overall survival by intracranial localization (OD vs CNS)</h3>
                <div class="plot" id="plot-localization" data-group-by="localization"><p class="placeholder">No data loaded.</p></div>
                <figcaption>Months from the intracranial diagnosis; ticks mark censored patients.</figcaption>
              </figure>
              <figure>
                <h3 id="plot-response_group-title">Overall survival by response group (CR+VGPR vs PR+NR)</h3>
                <div class="plot" id="plot-response_group" data-group-by="response_group"><p class="placeholder">No data loaded.</p></div>
                <figcaption>Best response to the therapy of the intracranial disease (IMWG).</figcaption>
              </figure>
              <figure>
                <h3 id="plot-therapy_class-title">Overall survival by therapy class (novel agents vs conventional)</h3>
                <div class="plot" id="plot-therapy_class" data-group-by="therapy_class"><p class="placeholder">No data loaded.</p></div>
                <figcaption>Novel: any proteasome inhibitor, immunomodulatory drug or antibody; else conventional.</figcaption>
              </figure>
            </div>
          </section>
        </main>
        <footer>
          <p>Groups smaller than the registry's minimum cell size report only their size. Data are refreshed every 30 seconds
            while this page is open; the key is kept in this browser's local storage until you forget it.</p>
        </footer>
        <script nonce="{{CSP_NONCE}}">
        "use strict";
        (function () {
          var STORAGE_KEY = "icmm.apiKey";
          var POLL_MS = 30000;
          var SVG_NS = "http://www.w3.org/2000/svg";
          var PLOTS = ["localization", "response_group", "therapy_class"];
          var JSON_RESOURCES = {
            overall: "/v1/cohorts/summary",
            survivalOverall: "/v1/cohorts/survival",
            summary: "/v1/cohorts/summary?group_by=localization",
            survival: "/v1/cohorts/survival?group_by=localization"
          };
          var GROUP_LABELS = { OD: "OD (osteodural)", CNS: "CNS", indeterminate: "Indeterminate", none: "No intracranial involvement" };

          var $ = function (id) { return document.getElementById(id); };
          var etags = {};        // url -> the ETag of what is shown
          var data = {};         // name -> the last parsed body
          var plotShown = {};    // plot name -> an SVG is on the page
          var generation = 0;    // bumped when the key changes: answers to older requests are dropped
          var running = null;    // the refresh in flight
          var timer = null;
          var lastSuccess = null;
          var lastChange = null;   // when an answer last differed from what was shown

          function storedKey() {
            try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
          }
          function storeKey(key) {
            try { window.localStorage.setItem(STORAGE_KEY, key); } catch (e) { /* private mode: memory only */ }
            memoryKey = key;
          }
          function forgetKey() {
            try { window.localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
            memoryKey = null;
          }
          var memoryKey = null;
          function currentKey() { return storedKey() || memoryKey; }

          function setStatus(state, message) {
            var status = $("status");
            status.dataset.state = state;
            status.textContent = message;
          }

          function showKeyState() {
            $("key-state").textContent = currentKey() ? "A key is stored in this browser." : "No key stored.";
          }

          function clearData() {
            etags = {};
            data = {};
            plotShown = {};
            $("summary-body").replaceChildren();
            $("logrank").textContent = "";
            $("data-version").textContent = "–";
            PLOTS.forEach(function (name) { placeholder(name, "No data loaded.", false); });
          }

          function placeholder(name, text, unavailable) {
            var p = document.createElement("p");
            p.className = unavailable ? "placeholder unavailable" : "placeholder";
            p.textContent = text;
            var box = $("plot-" + name);
            box.removeAttribute("role");
            box.removeAttribute("aria-label");
            box.replaceChildren(p);
          }

          // One request: resolves {status, etag, body} (body null on 304); rejects only on network errors.
          function request(url, accept) {
            var headers = { "Authorization": "Bearer " + currentKey(), "Accept": accept };
            if (etags[url]) headers["If-None-Match"] = etags[url];
            return fetch(url, { headers: headers, cache: "no-store", credentials: "omit", redirect: "error" })
              .then(function (response) {
                var result = { url: url, status: response.status, etag: response.headers.get("ETag") };
                if (response.status === 304) { result.body = null; return result; }
                return response.text().then(function (text) { result.body = text; return result; });
              });
          }

          function problemTitle(result) {
            try {
              var problem = JSON.parse(result.body);
              if (problem && typeof problem.detail === "string") return problem.detail;
              if (problem && typeof problem.title === "string") return problem.title;
            } catch (e) { /* not a problem document */ }
            return "";
          }

          function refresh() {
            if (running) return running;
            var key = currentKey();
            if (!key) {
              clearData();
              setStatus("needs-key", "Paste an analyst API key to load the dashboard.");
              return Promise.resolve();
            }
            var mine = generation;
            if (!lastSuccess) setStatus("loading", "Loading…");
            var jsonNames = Object.keys(JSON_RESOURCES);
            var requests = jsonNames.map(function (name) { return request(JSON_RESOURCES[name], "application/json"); })
              .concat(PLOTS.map(function (name) {
                return request("/v1/cohorts/survival.svg?group_by=" + name, "image/svg+xml");
              }));
            running = Promise.allSettled(requests).then(function (outcomes) {
              if (mine !== generation) return;
              apply(outcomes, jsonNames);
            }).catch(function (error) {
              if (mine !== generation) return;
              setStatus("error", "The dashboard could not show the answer: " + String(error && error.message || error));
            }).finally(function () { running = null; });
            return running;
          }

          function apply(outcomes, jsonNames) {
            var results = outcomes.map(function (o) { return o.status === "fulfilled" ? o.value : null; });
            if (results.some(function (r) { return r && r.status === 401; })) {
              forgetKey();
              clearData();
              showKeyState();
              lastSuccess = null;
            lastChange = null;
              $("last-refresh").textContent = "never";
              setStatus("refused", "The API key was refused (401). Paste a valid analyst key.");
              $("key-input").focus();
              return;
            }
            if (results.some(function (r) { return r && r.status === 403; })) {
              clearData();
              setStatus("refused", "The API key may not read cohort data (403). Paste an analyst key.");
              return;
            }
            var failure = null;
            var changed = results.some(function (r) { return r && r.status === 200; });
            jsonNames.forEach(function (name, index) {
              var r = results[index];
              if (!r) { failure = failure || "Cannot reach the registry (network error)."; return; }
              if (r.status === 304) return;
              if (r.status !== 200) {
                var detail = problemTitle(r);
                failure = failure || ("The registry answered with an error (HTTP " + r.status + (detail ? ": " + detail : "") + ").");
                return;
              }
              try {
                data[name] = JSON.parse(r.body);
                if (r.etag) etags[r.url] = r.etag;
              } catch (e) {
                failure = failure || "The registry sent an unreadable answer.";
              }
            });
            PLOTS.forEach(function (name, i) { applyPlot(name, results[jsonNames.length + i]); });
            if (data.summary) renderSummary();
            var now = new Date();
            if (failure) {
              if (lastSuccess) {
                setStatus("stale", failure + " Showing the data of " + lastSuccess.toLocaleTimeString() + "; retrying every 30 seconds.");
              } else {
                setStatus("error", failure + " Retrying every 30 seconds.");
              }
              return;
            }
            lastSuccess = now;
            if (changed || !lastChange) lastChange = now;
            var stamp = $("last-refresh");
            stamp.textContent = now.toLocaleString();
            stamp.setAttribute("datetime", now.toISOString());
            setStatus("ok", changed
              ? "Up to date (loaded " + now.toLocaleTimeString() + "). Checked again every 30 seconds."
              : "Up to date: no change since " + lastChange.toLocaleTimeString() + " (checked " + now.toLocaleTimeString() + ").");
          }

          function applyPlot(name, r) {
            var title = $("plot-" + name + "-title").textContent;
            if (!r) {
              if (!plotShown[name]) placeholder(name, "Plot unavailable: cannot reach the registry.", true);
              return;
            }
            if (r.status === 304) return;
            if (r.status !== 200) {
              delete etags[r.url];
              plotShown[name] = false;
              placeholder(name, "Plot unavailable (HTTP " + r.status + ").", true);
              return;
            }
            try {
              insertSVG(name, r.body, title);
              plotShown[name] = true;
              if (r.etag) etags[r.url] = r.etag;
            } catch (e) {
              delete etags[r.url];
              plotShown[name] = false;
              placeholder(name, "Plot unavailable: the registry sent an unreadable image.", true);
            }
          }

          // Parses the server's SVG as XML (never as HTML), keeps only drawing, and imports the node.
          function insertSVG(name, text, title) {
            var doc = new DOMParser().parseFromString(text, "image/svg+xml");
            var root = doc.documentElement;
            if (!root || root.namespaceURI !== SVG_NS || root.localName !== "svg" ||
                doc.getElementsByTagNameNS("*", "parsererror").length > 0) {
              throw new Error("not an SVG document");
            }
            clean(root);
            if (!root.hasAttribute("viewBox")) {
              var w = parseFloat(root.getAttribute("width")), h = parseFloat(root.getAttribute("height"));
              if (w > 0 && h > 0) root.setAttribute("viewBox", "0 0 " + w + " " + h);
            }
            root.removeAttribute("width");
            root.removeAttribute("height");
            var node = document.importNode(root, true);
            var own = node.querySelector("title");
            node.setAttribute("role", "img");
            node.setAttribute("aria-label", title + (own && own.textContent.trim() ? ". " + own.textContent.trim() : ""));
            node.setAttribute("focusable", "false");
            var box = $("plot-" + name);
            box.replaceChildren(node);
          }

          var FORBIDDEN = { script: 1, foreignobject: 1, iframe: 1, object: 1, embed: 1, handler: 1, listener: 1 };
          function clean(element) {
            Array.prototype.slice.call(element.children).forEach(function (child) {
              if (FORBIDDEN[child.localName.toLowerCase()]) { child.remove(); } else { clean(child); }
            });
            Array.prototype.slice.call(element.attributes).forEach(function (attribute) {
              var n = attribute.localName.toLowerCase();
              var v = attribute.value.trim().toLowerCase();
              if (n.indexOf("on") === 0) element.removeAttributeNode(attribute);
              else if ((n === "href" || n === "src") && v.charAt(0) !== "#") element.removeAttributeNode(attribute);
              else if (v.indexOf("javascript:") >= 0) element.removeAttributeNode(attribute);
            });
          }

          function format(value, digits) {
            return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
          }
          function withInterval(estimate, digits) {
            if (!estimate || typeof estimate !== "object") return "–";
            var reached = typeof estimate.estimate === "number";
            if (!reached && typeof estimate.lower !== "number") return "not reached";
            var text = reached ? format(estimate.estimate, digits) : "not reached";
            if (typeof estimate.lower === "number" || typeof estimate.upper === "number") {
              text += " (" + format(estimate.lower, digits) + "–" +
                (typeof estimate.upper === "number" ? format(estimate.upper, digits) : "NR") + ")";
            }
            return text;
          }

          function row(group, label, medianOS, isTotal) {
            var tr = document.createElement("tr");
            tr.dataset.group = group.key;
            if (isTotal) tr.className = "total";
            var th = document.createElement("th");
            th.scope = "row";
            th.textContent = label;
            tr.appendChild(th);
            function cell(field, text, extraClass) {
              var td = document.createElement("td");
              td.dataset.field = field;
              if (extraClass) td.className = extraClass;
              td.textContent = text;
              tr.appendChild(td);
            }
            cell("n", String(group.n));
            if (group.suppressed) {
              var td = document.createElement("td");
              td.colSpan = 5;
              td.className = "suppressed";
              td.dataset.field = "suppressed";
              td.textContent = "Too few patients to report (below the minimum cell size).";
              tr.appendChild(td);
              return tr;
            }
            cell("deaths", String(group.deaths));
            cell("progressions", String(group.progressions));
            var age = group.median_age_at_ic_diagnosis;
            cell("median_age", format(age, typeof age === "number" && age % 1 !== 0 ? 1 : 0));
            cell("median_followup", withInterval(group.median_followup_months, 1));
            cell("median_os", medianOS ? withInterval(medianOS, 1) : "–");
            return tr;
          }

          function renderSummary() {
            var body = $("summary-body");
            var survivalGroups = {};
            var survival = data.survival;
            if (survival && Array.isArray(survival.groups)) {
              survival.groups.forEach(function (g) { survivalGroups[g.key] = g; });
            }
            var rows = [];
            var overall = data.overall && Array.isArray(data.overall.groups) ? data.overall.groups[0] : null;
            if (overall) {
              var sa = data.survivalOverall && Array.isArray(data.survivalOverall.groups) ? data.survivalOverall.groups[0] : null;
              var osAll = sa && !sa.suppressed ? sa.median : null;
              rows.push(row({ key: "all", n: data.overall.n, deaths: overall.deaths, progressions: overall.progressions,
                median_age_at_ic_diagnosis: overall.median_age_at_ic_diagnosis,
                median_followup_months: overall.median_followup_months, suppressed: overall.suppressed }, "All patients", osAll, true));
            }
            var groups = Array.isArray(data.summary.groups) ? data.summary.groups.slice() : [];
            var order = { OD: 0, CNS: 1, indeterminate: 2, none: 3 };
            groups.sort(function (a, b) { return (order[a.key] === undefined ? 9 : order[a.key]) - (order[b.key] === undefined ? 9 : order[b.key]); });
            groups.forEach(function (g) {
              var s = survivalGroups[g.key];
              rows.push(row(g, GROUP_LABELS[g.key] || String(g.key), s && !s.suppressed ? s.median : null, false));
            });
            if (rows.length === 0 || data.summary.n === 0) {
              var tr = document.createElement("tr");
              var td = document.createElement("td");
              td.colSpan = 7;
              td.textContent = "No cases in the registry yet.";
              tr.appendChild(td);
              rows = [tr];
            }
            body.replaceChildren.apply(body, rows);
            var version = data.summary.data_version;
            $("data-version").textContent = typeof version === "number" ? String(version) : "–";
            var p = survival && survival.logrank && typeof survival.logrank.p_value === "number" ? survival.logrank.p_value : null;
            $("logrank").textContent = p === null ? "" :
              "Log-rank test of overall survival across localizations: p = " + (p < 0.001 ? "< 0.001" : p.toFixed(3)) + ".";
          }

          function schedule() {
            if (timer) clearInterval(timer);
            timer = setInterval(function () { if (!document.hidden && currentKey()) refresh(); }, POLL_MS);
          }

          // A key in the address (#key=...) is stored, then removed from the address bar and history.
          function takeKeyFromFragment() {
            var hash = window.location.hash.replace(/^#/, "");
            if (!hash) return;
            var params = new URLSearchParams(hash);
            var key = params.get("key");
            if (key === null) return;
            params.delete("key");
            var rest = params.toString();
            history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? "#" + rest : ""));
            if (key.trim()) storeKey(key.trim());
          }

          function useNewKey(key) {
            generation += 1;
            running = null;
            lastSuccess = null;
            lastChange = null;
            clearData();
            storeKey(key);
            showKeyState();
            refresh();
          }

          $("key-form").addEventListener("submit", function (event) {
            event.preventDefault();
            var input = $("key-input");
            var key = input.value.trim();
            input.value = "";
            if (!key) { input.focus(); return; }
            useNewKey(key);
          });
          $("forget-key").addEventListener("click", function () {
            generation += 1;
            running = null;
            lastSuccess = null;
            lastChange = null;
            forgetKey();
            clearData();
            showKeyState();
            $("last-refresh").textContent = "never";
            setStatus("needs-key", "The key was forgotten. Paste an analyst API key to load the dashboard.");
          });
          $("refresh-now").addEventListener("click", function () { refresh(); });
          document.addEventListener("visibilitychange", function () { if (!document.hidden && currentKey()) refresh(); });

          takeKeyFromFragment();
          showKeyState();
          schedule();
          refresh();
        })();
        </script>
        </body>
        </html>
        """#
}
