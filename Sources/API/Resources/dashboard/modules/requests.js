// Requests to the registry, with the key in a header, and what a refusal says.

import { currentKey } from "./key.js";

// A GET, tried a second time after a network failure: the server closes idle keep-alive
// connections (30 s, as long as the poll interval), and a request can meet one as it closes.
export function get(url, h) {
  var options = { headers: h, cache: "no-store", credentials: "omit", redirect: "error" };
  return fetch(url, options).catch(function () {
    return new Promise(function (resolve) { setTimeout(resolve, 250); }).then(function () { return fetch(url, options); });
  });
}

export function headers(accept) {
  return { "Authorization": "Bearer " + currentKey(), "Accept": accept };
}

export function problemText(result) {
  try {
    var problem = JSON.parse(result.body);
    if (problem && typeof problem.detail === "string") return problem.detail;
    if (problem && typeof problem.title === "string") return problem.title;
  } catch (e) { /* not a problem document */ }
  return "";
}

// Seconds or an HTTP date, as RFC 9110 allows; at least one second.
export function retryAfterSeconds(value) {
  if (!value) return 60;
  if (/^\s*\d+\s*$/.test(value)) return Math.max(1, parseInt(value, 10));
  var when = Date.parse(value);
  return isNaN(when) ? 60 : Math.max(1, Math.ceil((when - Date.now()) / 1000));
}

export function parsed(r) {
  if (!r || r.status !== 200) return null;
  try { return JSON.parse(r.body); } catch (e) { return null; }
}
export function failureText(r, what) {
  if (!r) return what + " unavailable: cannot reach the registry.";
  if (r.status === 404) return what + " unavailable: this registry server does not offer it (HTTP 404).";
  var detail = problemText(r);
  return what + " unavailable (HTTP " + r.status + (detail ? ": " + detail : "") + ").";
}
