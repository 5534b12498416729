// Downloads of what a view shows, fetched with the key in a header (never in an address), then
// saved through a Blob link.

import { $ } from "./dom.js";
import { currentKey } from "./key.js";
import { urls } from "./question.js";
import { get, headers, problemText, retryAfterSeconds } from "./requests.js";

var DOWNLOADS = {
  "summary-json": ["summary", "summary", "json"], "km-svg": ["kmSVG", "kaplan-meier", "svg"],
  "km-json": ["survival", "survival", "json"], "cox-svg": ["coxSVG", "cox-forest", "svg"], "cox-json": ["cox", "cox", "json"],
  "cif-svg": ["cifSVG", "incidence", "svg"], "cif-json": ["cif", "incidence", "json"], "dataset": ["dataset", "dataset", "csv"]
};
export function download(kind, state) {
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
