"use strict";
// The cohort dashboard. Every number and plot comes from the registry's own endpoints; this script
// only chooses the question, fetches with the key in a header, and shows the answers as text or as
// parsed and cleaned SVG nodes (never as HTML markup).
(function () {
  var STORAGE_KEY = "icmm.apiKey";
  var POLL_VISIBLE_MS = 30000;
  var POLL_HIDDEN_MS = 300000;   // a hidden tab backs off to one check every 5 minutes
  var SVG_NS = "http://www.w3.org/2000/svg";

  // The cohort fields a view can be grouped by (the API's CohortField), with readable names.
  var FIELDS = [
    ["localization", "Intracranial localization"], ["response_group", "Response group"],
    ["therapy_class", "Therapy class"], ["sex", "Sex"], ["site", "Site"],
    ["asct", "Autologous transplant (ASCT)"], ["radiotherapy", "Radiotherapy"],
    ["intrathecal", "Intrathecal therapy"], ["cns_risk", "CNS risk score"], ["iss", "ISS stage"]
  ];
  var FIELD_NAMES = FIELDS.map(function (f) { return f[0]; });
  var COVARIATES = FIELDS.concat([["age_at_ic_diagnosis", "Age at intracranial diagnosis (years)"]]);
  var THERAPY = [["novel", "Novel agents"], ["conventional", "Conventional"], ["none", "None"]];
  var ISS = [["1", "I"], ["2", "II"], ["3", "III"]];
  var VALUE_LABELS = {
    localization: { OD: "OD (osteodural)", CNS: "CNS", indeterminate: "Indeterminate", none: "No intracranial involvement" },
    therapy_class: { novel: "Novel agents", conventional: "Conventional", none: "None" },
    asct: { "true": "ASCT", "false": "No ASCT" },
    radiotherapy: { "true": "Radiotherapy", "false": "No radiotherapy" },
    intrathecal: { "true": "Intrathecal", "false": "No intrathecal" },
    iss: { "1": "ISS I", "2": "ISS II", "3": "ISS III" },
    cns_risk: { "0": "CNS risk 0", "1": "CNS risk 1", "2": "CNS risk 2" }
  };
  var DEFAULTS = {
    endpoint: "os", origin: "ic_diagnosis", group_by: "localization", site: "", therapy_class: [], asct: "",
    radiotherapy: "", iss: [], ic_diagnosis_from: "", ic_diagnosis_to: "", conf_type: "log", times: "", tau: "",
    covariates: [], strata: ""
  };
  var LIST_PARAMS = { therapy_class: 1, iss: 1, covariates: 1 };
  var CHOICES = {
    endpoint: ["os", "pfs"], origin: ["ic_diagnosis", "mm_diagnosis"], asct: ["", "true", "false"],
    radiotherapy: ["", "true", "false"], conf_type: ["log", "log-log", "plain"]
  };
  var NUMBER_LIST = /^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*$/;
  var POSITIVE = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/;
  var SITES = /^\s*[A-Za-z0-9._-]{1,64}\s*(,\s*[A-Za-z0-9._-]{1,64}\s*)*$/;
  var DATE = /^\d{4}-\d{2}-\d{2}$/;

  var $ = function (id) { return document.getElementById(id); };
  var state = copy(DEFAULTS);
  var cache = {};          // url -> {etag, body, status}: what is shown, for If-None-Match
  var generation = 0;      // bumped when the key or the question changes: older answers are dropped
  var running = null;      // the refresh in flight
  var timer = null;
  var retryAfterMs = 0;    // set by a 429
  var lastSuccess = null;
  var lastChange = null;   // when an answer last differed from what was shown
  var memoryKey = null;
  // Optional parameters this server rejected as unknown (an older server): asked without them after.
  var unsupported = {};

  function copy(o) { return JSON.parse(JSON.stringify(o)); }

  // MARK: - Key

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
  function currentKey() { return storedKey() || memoryKey; }
  function showKeyState() {
    $("key-state").textContent = currentKey() ? "A key is stored in this browser." : "No key stored.";
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

  // MARK: - The question, in the address

  // The view from the page's query string; an unknown or malformed value falls back to its default.
  function stateFromLocation() {
    var params = new URLSearchParams(window.location.search);
    var s = copy(DEFAULTS);
    Object.keys(DEFAULTS).forEach(function (name) {
      if (!params.has(name)) return;
      var raw = params.get(name);
      if (LIST_PARAMS[name]) {
        var allowed = name === "therapy_class" ? THERAPY.map(first) : name === "iss" ? ISS.map(first) : COVARIATES.map(first);
        s[name] = raw.split(",").filter(function (v, i, all) { return allowed.indexOf(v) >= 0 && all.indexOf(v) === i; });
      } else if (CHOICES[name]) {
        if (CHOICES[name].indexOf(raw) >= 0) s[name] = raw;
      } else if (name === "group_by") {
        s.group_by = raw === "none" ? "" : FIELD_NAMES.indexOf(raw) >= 0 ? raw : DEFAULTS.group_by;
      } else if (name === "strata") {
        if (FIELD_NAMES.indexOf(raw) >= 0) s.strata = raw;
      } else if (name === "site") {
        if (SITES.test(raw)) s.site = raw.replace(/\s+/g, "");
      } else if (name === "times") {
        if (NUMBER_LIST.test(raw)) s.times = raw.replace(/\s+/g, "");
      } else if (name === "tau") {
        if (POSITIVE.test(raw) && parseFloat(raw) > 0) s.tau = raw.trim();
      } else if (name === "ic_diagnosis_from" || name === "ic_diagnosis_to") {
        if (DATE.test(raw)) s[name] = raw;
      }
    });
    if (s.endpoint === "pfs") s.origin = "ic_diagnosis";
    return s;
  }
  function first(pair) { return pair[0]; }

  // The address of a view: only what differs from the defaults.
  function locationFor(s) {
    var params = new URLSearchParams();
    Object.keys(DEFAULTS).forEach(function (name) {
      var value = s[name];
      if (LIST_PARAMS[name]) {
        if (value.length) params.set(name, value.join(","));
      } else if (value !== DEFAULTS[name]) {
        params.set(name, name === "group_by" && value === "" ? "none" : value);
      }
    });
    var query = readable(params);
    return window.location.pathname + (query ? "?" + query : "");
  }

  // MARK: - Controls

  function buildControls() {
    FIELDS.forEach(function (f) {
      $("group_by").appendChild(option(f[0], f[1]));
      $("strata").appendChild(option(f[0], f[1]));
    });
    THERAPY.forEach(function (t) { $("therapy_class").appendChild(checkbox("therapy_class", t[0], t[1])); });
    ISS.forEach(function (t) { $("iss").appendChild(checkbox("iss", t[0], "Stage " + t[1])); });
    COVARIATES.forEach(function (t) { $("covariates").appendChild(checkbox("covariates", t[0], t[1])); });
  }
  function option(value, text) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }
  function checkbox(group, value, text) {
    var id = group + "-" + value;
    var wrap = document.createElement("div");
    wrap.className = "check";
    var input = document.createElement("input");
    input.type = "checkbox";
    input.id = id;
    input.name = group;
    input.value = value;
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = text;
    wrap.appendChild(input);
    wrap.appendChild(label);
    return wrap;
  }
  function checked(group) {
    return Array.prototype.slice.call(document.querySelectorAll("input[name='" + group + "']:checked"))
      .map(function (i) { return i.value; });
  }

  function showState(s) {
    ["endpoint", "origin", "group_by", "asct", "radiotherapy", "conf_type", "strata", "site", "times", "tau",
     "ic_diagnosis_from", "ic_diagnosis_to"].forEach(function (name) { $(name).value = s[name]; });
    ["therapy_class", "iss", "covariates"].forEach(function (group) {
      Array.prototype.slice.call(document.querySelectorAll("input[name='" + group + "']")).forEach(function (i) {
        i.checked = s[group].indexOf(i.value) >= 0;
      });
    });
    $("origin").querySelector("option[value=mm_diagnosis]").disabled = s.endpoint === "pfs";
    var used = coxCovariates(s);
    $("covariates-note").textContent = s.covariates.length ? "" :
      "None ticked: the model uses " + labelOfField(used[0]) + " (the grouping).";
    ["site", "times", "tau", "ic_diagnosis_from", "ic_diagnosis_to"].forEach(function (name) {
      $(name).removeAttribute("aria-invalid");
    });
    showControlError(null);
    var endpointName = s.endpoint === "pfs" ? "progression-free survival" : "overall survival";
    $("median-header").textContent = "Median " + endpointName + ", months (CI)";
    $("km-title").textContent = "Kaplan-Meier curves of " + endpointName +
      (s.group_by ? " by " + labelOfField(s.group_by).toLowerCase() : "");
    $("selection-text").textContent = describe(s);
  }

  // Reads the controls; returns null (and says why) when a typed value is malformed.
  function stateFromControls() {
    var s = {
      endpoint: $("endpoint").value, origin: $("origin").value, group_by: $("group_by").value,
      site: $("site").value.replace(/\s+/g, ""), therapy_class: checked("therapy_class"), asct: $("asct").value,
      radiotherapy: $("radiotherapy").value, iss: checked("iss"), ic_diagnosis_from: $("ic_diagnosis_from").value,
      ic_diagnosis_to: $("ic_diagnosis_to").value, conf_type: $("conf_type").value, times: $("times").value.replace(/\s+/g, ""),
      tau: $("tau").value.trim(), covariates: checked("covariates"), strata: $("strata").value
    };
    if (s.endpoint === "pfs") s.origin = "ic_diagnosis";
    var problems = [];
    function check(name, ok, message) {
      $(name).setAttribute("aria-invalid", ok ? "false" : "true");
      if (!ok) problems.push(message);
    }
    check("site", s.site === "" || SITES.test(s.site), "Sites: codes of letters, digits, . _ - separated by commas.");
    check("times", s.times === "" || NUMBER_LIST.test(s.times), "Landmark times: non-negative numbers separated by commas.");
    check("tau", s.tau === "" || (POSITIVE.test(s.tau) && parseFloat(s.tau) > 0), "RMST horizon τ: a positive number of months.");
    check("ic_diagnosis_from", s.ic_diagnosis_from === "" || DATE.test(s.ic_diagnosis_from), "Period: a date.");
    check("ic_diagnosis_to", s.ic_diagnosis_to === "" || DATE.test(s.ic_diagnosis_to), "Period: a date.");
    if (s.ic_diagnosis_from && s.ic_diagnosis_to && s.ic_diagnosis_from > s.ic_diagnosis_to) {
      problems.push("Period: the first date is after the second.");
      $("ic_diagnosis_to").setAttribute("aria-invalid", "true");
    }
    showControlError(problems.length ? problems.join(" ") : null);
    return problems.length ? null : s;
  }
  function showControlError(text) {
    var box = $("controls-error");
    box.hidden = !text;
    box.textContent = text || "";
  }

  function labelOfField(name) {
    for (var i = 0; i < COVARIATES.length; i++) if (COVARIATES[i][0] === name) return COVARIATES[i][1];
    return name;
  }
  // Groups in the order of their field's vocabulary (OD before CNS, ...), else as the server sent them.
  function ordered(groups) {
    var labels = VALUE_LABELS[state.group_by];
    if (!labels) return groups;
    var order = Object.keys(labels);
    var rank = function (g) { var i = order.indexOf(String(g.key)); return i < 0 ? order.length : i; };
    return groups.slice().sort(function (a, b) { return rank(a) - rank(b); });
  }
  function labelOfValue(field, value) {
    var labels = VALUE_LABELS[field];
    return labels && labels[value] ? labels[value] : String(value);
  }

  // A sentence saying which patients the views show.
  function describe(s) {
    var parts = [];
    if (s.site) parts.push("sites " + s.site.split(",").join(", "));
    if (s.therapy_class.length) parts.push("therapy " + s.therapy_class.map(function (v) { return labelOfValue("therapy_class", v); }).join(" or "));
    if (s.asct) parts.push(s.asct === "true" ? "with ASCT" : "without ASCT");
    if (s.radiotherapy) parts.push(s.radiotherapy === "true" ? "with radiotherapy" : "without radiotherapy");
    if (s.iss.length) parts.push("ISS " + s.iss.map(function (v) { return labelOfValue("iss", v).replace("ISS ", ""); }).join(" or "));
    if (s.ic_diagnosis_from || s.ic_diagnosis_to) {
      parts.push("intracranial diagnosis " + (s.ic_diagnosis_from ? "from " + s.ic_diagnosis_from + " " : "") +
        (s.ic_diagnosis_to ? "to " + s.ic_diagnosis_to : "").trim());
    }
    return "Patients: " + (parts.length ? parts.join("; ") : "all") + ". " +
      (s.endpoint === "pfs" ? "Progression-free" : "Overall") + " survival from the " +
      (s.origin === "mm_diagnosis" ? "myeloma diagnosis (entry at the intracranial diagnosis)" : "intracranial diagnosis") +
      (s.group_by ? ", by " + labelOfField(s.group_by).toLowerCase() : "") + ".";
  }

  function applyControls(push) {
    var s = stateFromControls();
    if (!s) return;
    var address = locationFor(s);
    if (push && address !== window.location.pathname + window.location.search) {
      history.pushState(null, "", address + window.location.hash);
    }
    changeState(s);
  }

  function changeState(s) {
    var same = JSON.stringify(s) === JSON.stringify(state);
    state = s;
    showState(state);
    if (same) return;
    generation += 1;
    running = null;
    retryAfterMs = 0;
    refresh(true);
  }

  // MARK: - Endpoints

  function selectionParams(s) {
    var p = new URLSearchParams();
    if (s.site) p.set("site", s.site);
    if (s.therapy_class.length) p.set("therapy_class", s.therapy_class.join(","));
    if (s.asct) p.set("asct", s.asct);
    if (s.radiotherapy) p.set("radiotherapy", s.radiotherapy);
    if (s.iss.length) p.set("iss", s.iss.join(","));
    if (s.ic_diagnosis_from) p.set("ic_diagnosis_from", s.ic_diagnosis_from);
    if (s.ic_diagnosis_to) p.set("ic_diagnosis_to", s.ic_diagnosis_to);
    return p;
  }
  function address(path, p) { var q = readable(p); return path + (q ? "?" + q : ""); }
  // Commas separate values in this API and are safe in a query: kept readable in addresses.
  function readable(params) { return params.toString().replace(/%2C/gi, ","); }
  function coxCovariates(s) { return s.covariates.length ? s.covariates : [s.group_by || "localization"]; }

  function urls(s) {
    var summaryOverall = selectionParams(s);
    var summary = selectionParams(s);
    if (s.group_by) summary.set("group_by", s.group_by);

    var survival = selectionParams(s);
    if (s.group_by) survival.set("group_by", s.group_by);
    survival.set("endpoint", s.endpoint);
    survival.set("origin", s.origin);
    survival.set("conf_type", s.conf_type);
    if (s.times) survival.set("times", s.times);
    if (s.tau) survival.set("tau", s.tau);
    var survivalOverall = selectionParams(s);
    survivalOverall.set("endpoint", s.endpoint);
    survivalOverall.set("origin", s.origin);
    survivalOverall.set("conf_type", s.conf_type);

    var cox = selectionParams(s);
    cox.set("endpoint", s.endpoint);
    cox.set("origin", s.origin);
    cox.set("covariates", coxCovariates(s).join(","));
    if (s.strata) cox.set("strata", s.strata);
    if (!unsupported.ph_test) cox.set("ph_test", "true");

    var cif = selectionParams(s);
    if (s.group_by) cif.set("group_by", s.group_by);
    cif.set("event", "progression");
    if (s.times) cif.set("times", s.times);

    var dataset = selectionParams(s);
    if (s.group_by) dataset.set("group_by", s.group_by);
    dataset.set("endpoint", s.endpoint);
    dataset.set("origin", s.origin);

    return {
      summary: address("/v1/cohorts/summary", summary),
      summaryOverall: address("/v1/cohorts/summary", summaryOverall),
      survival: address("/v1/cohorts/survival", survival),
      survivalOverall: address("/v1/cohorts/survival", survivalOverall),
      kmSVG: address("/v1/cohorts/survival.svg", survival),
      cox: address("/v1/cohorts/cox", cox),
      coxSVG: address("/v1/cohorts/cox.svg", cox),
      cif: address("/v1/cohorts/incidence", cif),
      cifSVG: address("/v1/cohorts/incidence.svg", cif),
      dataset: address("/v1/cohorts/dataset.csv", dataset)
    };
  }
  var POLLED = ["summary", "summaryOverall", "survival", "survivalOverall", "kmSVG", "cox", "coxSVG", "cif", "cifSVG"];

  // MARK: - Requests

  // A GET, tried a second time after a network failure: the server closes idle keep-alive
  // connections (30 s, as long as the poll interval), and a request can meet one as it closes.
  function get(url, h) {
    var options = { headers: h, cache: "no-store", credentials: "omit", redirect: "error" };
    return fetch(url, options).catch(function () {
      return new Promise(function (resolve) { setTimeout(resolve, 250); }).then(function () { return fetch(url, options); });
    });
  }

  function headers(accept) {
    return { "Authorization": "Bearer " + currentKey(), "Accept": accept };
  }

  // One request: resolves {url, status, etag, body, retryAfter} (body from the cache on 304).
  function request(url) {
    var accept = /\.svg(\?|$)/.test(url) ? "image/svg+xml" : "application/json";
    var h = headers(accept);
    var known = cache[url];
    if (known && known.etag) h["If-None-Match"] = known.etag;
    return get(url, h).then(function (response) {
        var result = { url: url, status: response.status, etag: response.headers.get("ETag"),
                       retryAfter: response.headers.get("Retry-After"), changed: false };
        if (response.status === 304 && known) {
          result.status = known.status;
          result.body = known.body;
          return result;
        }
        return response.text().then(function (text) {
          result.body = text;
          result.changed = !known || known.body !== text || known.status !== response.status;
          return result;
        });
      });
  }

  // A 400 naming an optional parameter as unknown: the server predates it.
  function rejectsOptionalParameter(r, name) {
    if (!r || r.status !== 400) return false;
    try {
      var problem = JSON.parse(r.body);
      return Array.isArray(problem.errors) && problem.errors.some(function (e) {
        return e && e.path === name && /not a parameter/.test(String(e.message));
      });
    } catch (e) { return false; }
  }

  function problemText(result) {
    try {
      var problem = JSON.parse(result.body);
      if (problem && typeof problem.detail === "string") return problem.detail;
      if (problem && typeof problem.title === "string") return problem.title;
    } catch (e) { /* not a problem document */ }
    return "";
  }

  // Seconds or an HTTP date, as RFC 9110 allows; at least one second.
  function retryAfterSeconds(value) {
    if (!value) return 60;
    if (/^\s*\d+\s*$/.test(value)) return Math.max(1, parseInt(value, 10));
    var when = Date.parse(value);
    return isNaN(when) ? 60 : Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  function refresh(questionChanged) {
    if (running) return running;
    if (!currentKey()) {
      clearData();
      setStatus("needs-key", "Paste an analyst API key to load the dashboard.");
      return Promise.resolve();
    }
    var mine = generation;
    var u = urls(state);
    var names = POLLED.filter(function (name, i) { return POLLED.indexOf(name) === i; });
    if (!lastSuccess || questionChanged) setStatus("loading", "Loading…");
    running = Promise.allSettled(names.map(function (name) { return request(u[name]); })).then(function (outcomes) {
      if (mine !== generation) return;
      var results = {};
      names.forEach(function (name, i) { results[name] = outcomes[i].status === "fulfilled" ? outcomes[i].value : null; });
      if (rejectsOptionalParameter(results.cox, "ph_test")) {
        unsupported.ph_test = true;
        running = null;
        return refresh(questionChanged);
      }
      apply(results, questionChanged);
    }).catch(function (error) {
      if (mine !== generation) return;
      setStatus("error", "The dashboard could not show the answer: " + String(error && error.message || error));
    }).finally(function () {
      if (mine === generation) running = null;
      schedule();
    });
    return running;
  }

  function apply(results, questionChanged) {
    var all = Object.keys(results).map(function (k) { return results[k]; });
    var refused = function (code) { return all.some(function (r) { return r && r.status === code; }); };
    if (refused(401)) {
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
    if (refused(403)) {
      clearData();
      setStatus("refused", "The API key may not read cohort data (403). Paste an analyst key.");
      return;
    }
    if (refused(429)) {
      var limited = all.filter(function (r) { return r && r.status === 429; })[0];
      var seconds = retryAfterSeconds(limited.retryAfter);
      retryAfterMs = seconds * 1000;
      var until = new Date(Date.now() + retryAfterMs);
      setStatus("limited", "The registry is limiting requests (HTTP 429: too many requests). Retrying in " + seconds +
        (seconds === 1 ? " second" : " seconds") + " (at " + until.toLocaleTimeString() + ")" +
        (lastSuccess ? "; showing the data of " + lastSuccess.toLocaleTimeString() + "." : "."));
      return;
    }
    retryAfterMs = 0;
    var changed = false;
    var failure = null;
    all.forEach(function (r) {
      if (!r) { failure = failure || "Cannot reach the registry (network error)."; return; }
      if (r.changed) changed = true;
      // A refusal of one view (400, 404, 422) is shown in that view and kept, so that it is not "a change" at every poll.
      cache[r.url] = { etag: r.status === 200 ? r.etag : null, body: r.body, status: r.status };
      if (r.status >= 500) failure = failure || "The registry answered with an error (HTTP " + r.status + ").";
    });
    // Forget what the current question no longer shows.
    var wanted = {};
    all.forEach(function (r) { if (r) wanted[r.url] = 1; });
    Object.keys(cache).forEach(function (url) { if (!wanted[url]) delete cache[url]; });

    if (changed || questionChanged) render(results);
    var now = new Date();
    if (failure) {
      setStatus(lastSuccess ? "stale" : "error", failure + (lastSuccess ? " Showing the data of " +
        lastSuccess.toLocaleTimeString() + "; retrying." : " Retrying."));
      return;
    }
    var first = !lastSuccess;
    lastSuccess = now;
    if (changed && !questionChanged && !first) lastChange = now;
    if (!lastChange) lastChange = now;
    var stamp = $("last-refresh");
    stamp.textContent = now.toLocaleString();
    stamp.setAttribute("datetime", now.toISOString());
    if (first || questionChanged) {
      setStatus("ok", "Up to date (loaded " + now.toLocaleTimeString() + "). Checked again every 30 seconds.");
    } else if (changed) {
      setStatus("ok", "Up to date: the data changed at " + now.toLocaleTimeString() + ".");
    } else {
      setStatus("ok", "Up to date: no change since " + lastChange.toLocaleTimeString() +
        " (checked " + now.toLocaleTimeString() + ").");
    }
  }

  function setStatus(stateName, message) {
    var status = $("status");
    status.dataset.state = stateName;
    status.textContent = message;
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    var delay = retryAfterMs || (document.visibilityState === "hidden" ? POLL_HIDDEN_MS : POLL_VISIBLE_MS);
    timer = setTimeout(function () {
      if (currentKey()) refresh(false); else schedule();
    }, delay);
  }

  // MARK: - Rendering

  function parsed(r) {
    if (!r || r.status !== 200) return null;
    try { return JSON.parse(r.body); } catch (e) { return null; }
  }
  function failureText(r, what) {
    if (!r) return what + " unavailable: cannot reach the registry.";
    if (r.status === 404) return what + " unavailable: this registry server does not offer it (HTTP 404).";
    var detail = problemText(r);
    return what + " unavailable (HTTP " + r.status + (detail ? ": " + detail : "") + ").";
  }

  function render(results) {
    var version = null;
    ["summary", "survival", "cox", "cif"].forEach(function (name) {
      var body = parsed(results[name]);
      if (body && typeof body.data_version === "number") version = Math.max(version || 0, body.data_version);
    });
    $("data-version").textContent = version === null ? "–" : String(version);
    renderSummary(results);
    renderKaplanMeier(results);
    renderCox(results);
    renderIncidence(results);
    renderRMST(results);
  }

  function clearData() {
    cache = {};
    ["summary-body", "km-head", "km-body", "cox-body", "ph-body", "cif-head", "cif-body", "rmst-body"].forEach(function (id) {
      $(id).replaceChildren();
    });
    ["logrank", "cox-meta", "gray", "rmst-note"].forEach(function (id) { $(id).textContent = ""; });
    $("summary-error").hidden = true;
    $("data-version").textContent = "–";
    ["km", "cox", "cif"].forEach(function (name) { placeholder(name, "No data loaded.", false); });
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

  function plot(name, r, title, describedBy) {
    if (!r || r.status !== 200) { placeholder(name, failureText(r, "Plot"), true); return; }
    try {
      insertSVG(name, r.body, title, describedBy);
    } catch (e) {
      placeholder(name, "Plot unavailable: the registry sent an unreadable image.", true);
    }
  }

  // Parses the server's SVG as XML (never as HTML), keeps only drawing, and imports the node.
  function insertSVG(name, text, title, describedBy) {
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
    node.setAttribute("aria-describedby", describedBy);
    node.setAttribute("focusable", "false");
    $("plot-" + name).replaceChildren(node);
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
      else if (v.indexOf("javascript:") >= 0 || v.indexOf("url(") >= 0 && v.indexOf("url(#") < 0) element.removeAttributeNode(attribute);
    });
  }

  function format(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
  }
  function formatP(p) {
    if (typeof p !== "number" || !isFinite(p)) return "–";
    return p < 0.001 ? "< 0.001" : p.toFixed(3);
  }
  function interval(estimate, lower, upper, digits) {
    var text = typeof estimate === "number" ? format(estimate, digits) : "not reached";
    if (typeof lower === "number" || typeof upper === "number") {
      text += " (" + format(lower, digits) + "–" + (typeof upper === "number" ? format(upper, digits) : "NR") + ")";
    }
    return text;
  }
  function withInterval(e, digits) {
    if (!e || typeof e !== "object") return "–";
    if (typeof e.estimate !== "number" && typeof e.lower !== "number") return "not reached";
    return interval(e.estimate, e.lower, e.upper, digits);
  }
  function percent(value) { return typeof value === "number" && isFinite(value) ? (100 * value).toFixed(1) + "%" : "–"; }
  function percentInterval(e, l, u) {
    if (typeof e !== "number") return "–";
    return percent(e) + (typeof l === "number" || typeof u === "number" ? " (" + percent(l) + "–" + percent(u) + ")" : "");
  }

  function tr(cells, attributes) {
    var row = document.createElement("tr");
    Object.keys(attributes || {}).forEach(function (k) { row.dataset[k] = attributes[k]; });
    cells.forEach(function (c, i) {
      var cell = document.createElement(i === 0 ? "th" : "td");
      if (i === 0) cell.scope = "row";
      if (c && typeof c === "object") {
        cell.textContent = c.text;
        if (c.field) cell.dataset.field = c.field;
        if (c.span) cell.colSpan = c.span;
        if (c.className) cell.className = c.className;
      } else {
        cell.textContent = c;
      }
      row.appendChild(cell);
    });
    return row;
  }
  function messageRow(body, span, text, unavailable) {
    var row = document.createElement("tr");
    var td = document.createElement("td");
    td.colSpan = span;
    td.className = unavailable ? "unavailable" : "suppressed";
    td.textContent = text;
    row.appendChild(td);
    body.replaceChildren(row);
  }
  function headRow(id, labels) {
    $(id).replaceChildren.apply($(id), labels.map(function (text) {
      var th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      return th;
    }));
  }
  var SUPPRESSED = "Too few patients to report (below the minimum cell size).";

  function renderSummary(results) {
    var summary = parsed(results.summary);
    var overallSummary = parsed(results.summaryOverall);
    var survival = parsed(results.survival);
    var survivalOverall = parsed(results.survivalOverall);
    var body = $("summary-body");
    $("summary-error").hidden = true;
    if (!summary) {
      body.replaceChildren();
      $("summary-error").hidden = false;
      $("summary-error").textContent = failureText(results.summary, "Summary");
      return;
    }
    var medians = {};
    if (survival && Array.isArray(survival.groups)) survival.groups.forEach(function (g) { medians[g.key] = g; });
    function row(group, label, os, isTotal) {
      var cells = [label, { text: String(group.n), field: "n" }];
      if (group.suppressed) {
        cells.push({ text: SUPPRESSED, field: "suppressed", span: 5, className: "suppressed" });
      } else {
        var age = group.median_age_at_ic_diagnosis;
        cells.push({ text: String(group.deaths), field: "deaths" }, { text: String(group.progressions), field: "progressions" },
          { text: format(age, typeof age === "number" && age % 1 !== 0 ? 1 : 0), field: "median_age" },
          { text: withInterval(group.median_followup_months, 1), field: "median_followup" },
          { text: os && !os.suppressed ? withInterval(os.median, 1) : "–", field: "median_os" });
      }
      var r = tr(cells, { group: group.key });
      if (isTotal) r.className = "total";
      return r;
    }
    var rows = [];
    var overall = overallSummary && Array.isArray(overallSummary.groups) ? overallSummary.groups[0] : null;
    if (overall && state.group_by) {
      var sa = survivalOverall && Array.isArray(survivalOverall.groups) ? survivalOverall.groups[0] : null;
      var all = copy(overall);
      all.key = "all";
      all.n = overallSummary.n;
      rows.push(row(all, "All patients", sa, true));
    }
    ordered(Array.isArray(summary.groups) ? summary.groups : []).forEach(function (g) {
      var label = state.group_by ? labelOfValue(state.group_by, g.key) : "All patients";
      rows.push(row(g, label, medians[g.key], !state.group_by));
    });
    if (rows.length === 0 || summary.n === 0) {
      messageRow(body, 7, "No cases match this selection.", false);
      return;
    }
    body.replaceChildren.apply(body, rows);
  }

  function renderKaplanMeier(results) {
    var survival = parsed(results.survival);
    plot("km", results.kmSVG, $("km-title").textContent, "km-table");
    var times = survival && Array.isArray(survival.groups) && survival.groups.length && survival.groups[0].survival_at
      ? survival.groups[0].survival_at.map(function (l) { return l.time; }) : [];
    headRow("km-head", ["Group", "Patients", "Events", "Median, months (CI)"].concat(times.map(function (t) {
      return "Survival at " + format(t, t % 1 ? 1 : 0) + " months (CI)";
    })));
    var body = $("km-body");
    if (!survival) {
      messageRow(body, 4, failureText(results.survival, "Estimates"), true);
      $("logrank").textContent = "";
      return;
    }
    var rows = ordered(survival.groups || []).map(function (g) {
      var label = state.group_by ? labelOfValue(state.group_by, g.key) : "All patients";
      if (g.suppressed) return tr([label, { text: String(g.n), field: "n" }, { text: SUPPRESSED, span: 2 + times.length, className: "suppressed" }], { group: g.key });
      return tr([label, { text: String(g.n), field: "n" }, { text: String(g.events), field: "events" },
        { text: withInterval(g.median, 1), field: "median" }].concat((g.survival_at || []).map(function (l) {
        return { text: percentInterval(l.survival, l.lower, l.upper), field: "at-" + l.time };
      })), { group: g.key });
    });
    if (!rows.length) messageRow(body, 4, "No cases match this selection.", false); else body.replaceChildren.apply(body, rows);
    var test = survival.logrank;
    if (test && typeof test.p_value === "number") {
      $("logrank").textContent = "Log-rank test across groups: χ² = " + format(test.chisq, 2) + " on " + test.df +
        " df, p = " + formatP(test.p_value) + ".";
    } else {
      $("logrank").textContent = survival.tests_note || (state.group_by ? "No log-rank test: fewer than two groups to compare." : "");
    }
  }

  function renderCox(results) {
    var cox = parsed(results.cox);
    plot("cox", results.coxSVG, $("cox-title").textContent, "cox-table");
    var body = $("cox-body");
    var ph = $("ph-body");
    if (!cox) {
      messageRow(body, 3, failureText(results.cox, "Cox model"), true);
      ph.replaceChildren();
      $("cox-meta").textContent = "";
      return;
    }
    if (!cox.cox) {
      messageRow(body, 3, cox.suppressed ? SUPPRESSED : "No model could be fitted.", false);
      ph.replaceChildren();
      $("cox-meta").textContent = "";
      return;
    }
    var model = cox.cox;
    var refs = cox.reference_levels || {};
    var rows = (model.terms || []).map(function (t) {
      return tr([t.term, { text: interval(t.hazard_ratio, t.lower, t.upper, 2), field: "hr" }, { text: formatP(t.p_value), field: "p" }],
        { term: t.term });
    });
    if (!rows.length) messageRow(body, 3, "The model has no terms.", false); else body.replaceChildren.apply(body, rows);
    var refText = Object.keys(refs).sort().map(function (k) { return labelOfField(k) + ": " + labelOfValue(k, refs[k]); });
    $("cox-meta").textContent = "Covariates: " + (cox.covariates || []).map(labelOfField).join(", ") +
      (model.strata || cox.strata ? "; stratified by " + labelOfField(model.strata || cox.strata) : "") +
      ". " + model.n + " patients, " + model.events + " events (" + (cox.dropped_rows || 0) + " without a value left out)." +
      (refText.length ? " Reference levels: " + refText.join("; ") + "." : "") +
      (model.lr_test ? " Likelihood-ratio test p = " + formatP(model.lr_test.p_value) + "." : "");
    var test = model.ph_test;
    if (test && Array.isArray(test.terms)) {
      var phRows = test.terms.map(function (t) {
        return tr([labelOfField(t.covariate), format(t.chisq, 2), String(t.df), { text: formatP(t.p_value), field: "ph-p" }], { covariate: t.covariate });
      });
      if (test.global) {
        var g = tr(["Global", format(test.global.chisq, 2), String(test.global.df), { text: formatP(test.global.p_value), field: "ph-p" }], { covariate: "global" });
        g.className = "total";
        phRows.push(g);
      }
      ph.replaceChildren.apply(ph, phRows);
    } else {
      messageRow(ph, 4, unsupported.ph_test ? "The proportional-hazards test is unavailable: this registry server does not compute it (ph_test)." :
        "The proportional-hazards test is not in this answer.", true);
    }
  }

  function renderIncidence(results) {
    var cif = parsed(results.cif);
    plot("cif", results.cifSVG, $("cif-title").textContent, "cif-table");
    var body = $("cif-body");
    var groups = cif && Array.isArray(cif.groups) ? cif.groups : [];
    var times = [];
    groups.forEach(function (g) { (g.at || []).forEach(function (a) { if (times.indexOf(a.time) < 0) times.push(a.time); }); });
    times.sort(function (a, b) { return a - b; });
    headRow("cif-head", ["Group", "Cause", "Patients", "Events"].concat(times.map(function (t) {
      return "Incidence at " + format(t, t % 1 ? 1 : 0) + " months (CI)";
    })));
    if (!cif) {
      messageRow(body, 4, failureText(results.cif, "Cumulative incidence"), true);
      $("gray").textContent = "";
      return;
    }
    // Each group's causes together, progression first, groups in their vocabulary's order.
    var causeRank = function (g) { return g.cause === "progression" ? 0 : g.cause === "death" ? 1 : 2; };
    var groupOrder = ordered(groups).map(function (g) { return String(g.key); });
    var sorted = groups.slice().sort(function (a, b) {
      return groupOrder.indexOf(String(a.key)) - groupOrder.indexOf(String(b.key)) || causeRank(a) - causeRank(b);
    });
    var rows = sorted.map(function (g) {
      var label = state.group_by ? labelOfValue(state.group_by, g.key) : "All patients";
      if (g.suppressed) return tr([label, "–", { text: String(g.n), field: "n" }, { text: SUPPRESSED, span: 1 + times.length, className: "suppressed" }], { group: g.key });
      var at = {};
      (g.at || []).forEach(function (a) { at[a.time] = a; });
      return tr([label, g.cause === "death" ? "Death without progression" : g.cause === "progression" ? "Progression" : String(g.cause),
        { text: String(g.n), field: "n" }, { text: String(g.events), field: "events" }].concat(times.map(function (t) {
        var a = at[t];
        return { text: a ? percentInterval(a.estimate, a.lower, a.upper) : "–", field: "at-" + t };
      })), { group: g.key, cause: String(g.cause) });
    });
    if (!rows.length) messageRow(body, 4, "No cases match this selection.", false); else body.replaceChildren.apply(body, rows);
    var tests = Array.isArray(cif.gray_test) ? cif.gray_test : [];
    $("gray").textContent = tests.length ? "Gray's test across groups: " + tests.map(function (t) {
      return (t.cause === "death" ? "death without progression" : t.cause) + " p = " + formatP(t.p_value);
    }).join("; ") + "." : "";
  }

  function renderRMST(results) {
    var survival = parsed(results.survival);
    var body = $("rmst-body");
    var note = $("rmst-note");
    if (!state.tau) {
      messageRow(body, 5, "Set the RMST horizon τ (under Estimates) to compare restricted mean survival.", false);
      note.textContent = "";
      return;
    }
    if (!survival) {
      messageRow(body, 5, failureText(results.survival, "RMST"), true);
      note.textContent = "";
      return;
    }
    var perGroup = (survival.groups || []).filter(function (g) { return g.rmst; }).map(function (g) {
      return (state.group_by ? labelOfValue(state.group_by, g.key) : "All patients") + " " + format(g.rmst.estimate, 1) +
        " (SE " + format(g.rmst.std_err, 2) + ")";
    });
    note.textContent = "Restricted mean survival up to τ = " + state.tau + " months" +
      (perGroup.length ? ": " + perGroup.join("; ") + "." : ".");
    if (!state.group_by) {
      messageRow(body, 5, "Choose a grouping to compare groups.", false);
      return;
    }
    var differences = survival.rmst_differences;
    if (!Array.isArray(differences)) {
      messageRow(body, 5, "RMST differences unavailable: this registry server does not compute them yet.", true);
      return;
    }
    if (!differences.length) {
      messageRow(body, 5, "Fewer than two groups to compare.", false);
      return;
    }
    var rows = differences.map(function (d) {
      return tr([labelOfValue(state.group_by, d.a) + " vs " + labelOfValue(state.group_by, d.b),
        { text: interval(d.difference, d.lower, d.upper, 2), field: "difference" }, { text: formatP(d.p_value), field: "p" },
        { text: interval(d.ratio, d.ratio_lower, d.ratio_upper, 2), field: "ratio" }, { text: formatP(d.ratio_p_value), field: "ratio-p" }],
        { pair: d.a + "|" + d.b });
    });
    body.replaceChildren.apply(body, rows);
  }

  // MARK: - Downloads

  // Fetched with the key in a header (never in an address), then saved through a Blob link.
  var DOWNLOADS = {
    "summary-json": ["summary", "summary", "json"], "km-svg": ["kmSVG", "kaplan-meier", "svg"],
    "km-json": ["survival", "survival", "json"], "cox-svg": ["coxSVG", "cox-forest", "svg"], "cox-json": ["cox", "cox", "json"],
    "cif-svg": ["cifSVG", "incidence", "svg"], "cif-json": ["cif", "incidence", "json"], "dataset": ["dataset", "dataset", "csv"]
  };
  function download(kind) {
    var spec = DOWNLOADS[kind];
    if (!spec) return;
    var say = function (text) { $("download-status").textContent = text; };
    if (!currentKey()) { say("Paste an analyst API key first."); return; }
    var url = urls(state)[spec[0]];
    var name = spec[2] === "csv" ? "dataset.csv" : spec[1] + "-" + state.endpoint + (state.group_by ? "-by-" + state.group_by : "") + "." + spec[2];
    var accept = { json: "application/json", svg: "image/svg+xml", csv: "text/csv" }[spec[2]];
    say("Downloading " + name + "…");
    get(url, headers(accept)).then(function (response) {
      if (response.status !== 200) {
        return response.text().then(function (text) {
          var detail = problemText({ body: text });
          var reason = response.status === 401 ? "the key was refused" : response.status === 403 ? "the key may not read cohort data" :
            response.status === 429 ? "too many requests; try again in " + retryAfterSeconds(response.headers.get("Retry-After")) + " seconds" :
            response.status === 404 ? "this registry server does not offer it" : detail;
          say("Could not download " + name + " (HTTP " + response.status + (reason ? ": " + reason : "") + ").");
        });
      }
      return response.blob().then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = name;
        link.hidden = true;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 60000);
        say("Downloaded " + name + " (" + (blob.type || "unknown type") + ", " + blob.size + " bytes).");
      });
    }).catch(function (error) {
      say("Could not download " + name + ": " + String(error && error.message || error) + ".");
    });
  }

  // MARK: - Wiring

  function useNewKey(key) {
    generation += 1;
    running = null;
    lastSuccess = null;
    lastChange = null;
    retryAfterMs = 0;
    clearData();
    storeKey(key);
    showKeyState();
    refresh(true);
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
  $("refresh-now").addEventListener("click", function () { refresh(false); });
  var controls = $("controls");
  controls.addEventListener("change", function () { applyControls(true); });
  controls.addEventListener("submit", function (event) { event.preventDefault(); applyControls(true); });
  controls.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "checkbox") {
      event.preventDefault();
      applyControls(true);
    }
  });
  controls.addEventListener("reset", function (event) {
    event.preventDefault();
    var s = copy(DEFAULTS);
    history.pushState(null, "", locationFor(s) + window.location.hash);
    changeState(s);
    showState(s);
  });
  Array.prototype.slice.call(document.querySelectorAll("[data-download]")).forEach(function (button) {
    button.addEventListener("click", function () { download(button.dataset.download); });
  });
  window.addEventListener("popstate", function () { changeState(stateFromLocation()); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && currentKey() && !retryAfterMs) refresh(false); else schedule();
  });

  buildControls();
  takeKeyFromFragment();
  state = stateFromLocation();
  showState(state);
  showKeyState();
  refresh(true);
})();
