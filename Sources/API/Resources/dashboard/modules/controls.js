// The form that asks the question: built from the vocabulary, set from a question, read back (and
// checked) when the user changes it.

import { $ } from "./dom.js";
import { coxCovariates, describe } from "./question.js";
import { COVARIATES, DATE, FIELDS, ISS, NUMBER_LIST, POSITIVE, SITES, THERAPY, labelOfField } from "./vocabulary.js";

export function buildControls() {
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

export function showState(s) {
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
export function stateFromControls() {
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
