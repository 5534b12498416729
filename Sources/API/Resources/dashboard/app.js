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
