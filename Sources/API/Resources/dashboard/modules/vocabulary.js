// The registry's vocabulary as the dashboard shows it: the cohort fields and their values with
// readable names, the default question, and the patterns a typed value must match.

// The cohort fields a view can be grouped by (the API's CohortField), with readable names.
export var FIELDS = [
  ["localization", "Intracranial localization"], ["response_group", "Response group"],
  ["therapy_class", "Therapy class"], ["sex", "Sex"], ["site", "Site"],
  ["asct", "Autologous transplant (ASCT)"], ["radiotherapy", "Radiotherapy"],
  ["intrathecal", "Intrathecal therapy"], ["cns_risk", "CNS risk score"], ["iss", "ISS stage"]
];
export var FIELD_NAMES = FIELDS.map(function (f) { return f[0]; });
export var COVARIATES = FIELDS.concat([["age_at_ic_diagnosis", "Age at intracranial diagnosis (years)"]]);
export var THERAPY = [["novel", "Novel agents"], ["conventional", "Conventional"], ["none", "None"]];
export var ISS = [["1", "I"], ["2", "II"], ["3", "III"]];
export var VALUE_LABELS = {
  localization: { OD: "OD (osteodural)", CNS: "CNS", indeterminate: "Indeterminate", none: "No intracranial involvement" },
  therapy_class: { novel: "Novel agents", conventional: "Conventional", none: "None" },
  asct: { "true": "ASCT", "false": "No ASCT" },
  radiotherapy: { "true": "Radiotherapy", "false": "No radiotherapy" },
  intrathecal: { "true": "Intrathecal", "false": "No intrathecal" },
  iss: { "1": "ISS I", "2": "ISS II", "3": "ISS III" },
  cns_risk: { "0": "CNS risk 0", "1": "CNS risk 1", "2": "CNS risk 2" }
};
export var DEFAULTS = {
  endpoint: "os", origin: "ic_diagnosis", group_by: "localization", site: "", therapy_class: [], asct: "",
  radiotherapy: "", iss: [], ic_diagnosis_from: "", ic_diagnosis_to: "", conf_type: "log", times: "", tau: "",
  covariates: [], strata: ""
};
export var LIST_PARAMS = { therapy_class: 1, iss: 1, covariates: 1 };
export var CHOICES = {
  endpoint: ["os", "pfs"], origin: ["ic_diagnosis", "mm_diagnosis"], asct: ["", "true", "false"],
  radiotherapy: ["", "true", "false"], conf_type: ["log", "log-log", "plain"]
};
export var NUMBER_LIST = /^\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*)*$/;
export var POSITIVE = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/;
export var SITES = /^\s*[A-Za-z0-9._-]{1,64}\s*(,\s*[A-Za-z0-9._-]{1,64}\s*)*$/;
export var DATE = /^\d{4}-\d{2}-\d{2}$/;

export function copy(o) { return JSON.parse(JSON.stringify(o)); }
export function first(pair) { return pair[0]; }

export function labelOfField(name) {
  for (var i = 0; i < COVARIATES.length; i++) if (COVARIATES[i][0] === name) return COVARIATES[i][1];
  return name;
}
export function labelOfValue(field, value) {
  var labels = VALUE_LABELS[field];
  return labels && labels[value] ? labels[value] : String(value);
}
