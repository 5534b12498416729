// The question a view answers: kept in the page's own address, described in words, and turned into
// the addresses of the registry's cohort endpoints.

import {
  CHOICES, COVARIATES, DATE, DEFAULTS, FIELD_NAMES, ISS, LIST_PARAMS, NUMBER_LIST, POSITIVE, SITES, THERAPY, copy, first,
  labelOfField, labelOfValue
} from "./vocabulary.js";

// Optional parameters this server rejected as unknown (an older server): asked without them after.
export var unsupported = {};

// The view from the page's query string; an unknown or malformed value falls back to its default.
export function stateFromLocation() {
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

// The address of a view: only what differs from the defaults.
export function locationFor(s) {
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

// A sentence saying which patients the views show.
export function describe(s) {
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
export function coxCovariates(s) { return s.covariates.length ? s.covariates : [s.group_by || "localization"]; }

export function urls(s) {
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
export var POLLED = ["summary", "summaryOverall", "survival", "survivalOverall", "kmSVG", "cox", "coxSVG", "cif", "cifSVG"];
