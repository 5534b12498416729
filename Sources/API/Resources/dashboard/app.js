// The cohort dashboard. Every number and plot comes from the registry's own endpoints; this script
// only chooses the question, fetches with the key in a header, and shows the answers as text or as
// parsed and cleaned SVG nodes (never as HTML markup).
// The page is split by concern into the ES modules in /dashboard/modules/; this one holds what is
// shown and when it is asked again (polling), and wires the page's controls to it.

import { buildControls, showState, stateFromControls } from "./modules/controls.js";
import { $ } from "./modules/dom.js";
import { download } from "./modules/downloads.js";
import { currentKey, forgetKey, showKeyState, storeKey, takeKeyFromFragment } from "./modules/key.js";
import { placeholder } from "./modules/plots.js";
import { POLLED, locationFor, stateFromLocation, unsupported, urls } from "./modules/question.js";
import { get, headers, retryAfterSeconds } from "./modules/requests.js";
import { render } from "./modules/views.js";
import { DEFAULTS, copy } from "./modules/vocabulary.js";

var POLL_VISIBLE_MS = 30000;
var POLL_HIDDEN_MS = 300000;   // a hidden tab backs off to one check every 5 minutes

var state = copy(DEFAULTS);
var cache = {};          // url -> {etag, body, status}: what is shown, for If-None-Match
var generation = 0;      // bumped when the key or the question changes: older answers are dropped
var running = null;      // the refresh in flight
var timer = null;
var retryAfterMs = 0;    // set by a 429
var lastSuccess = null;
var lastChange = null;   // when an answer last differed from what was shown

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

// MARK: - Polling

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

  if (changed || questionChanged) render(results, state);
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
  button.addEventListener("click", function () { download(button.dataset.download, state); });
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
