// The five views (summary, Kaplan-Meier, Cox, cumulative incidence, RMST): each answer shown as a
// table, its plot beside it, or a sentence saying why there is none.

import { $, headRow, messageRow, tr } from "./dom.js";
import { format, formatP, interval, percentInterval, withInterval } from "./format.js";
import { plot } from "./plots.js";
import { unsupported } from "./question.js";
import { failureText, parsed } from "./requests.js";
import { VALUE_LABELS, copy, labelOfField, labelOfValue } from "./vocabulary.js";

export function render(results, state) {
  var version = null;
  ["summary", "survival", "cox", "cif"].forEach(function (name) {
    var body = parsed(results[name]);
    if (body && typeof body.data_version === "number") version = Math.max(version || 0, body.data_version);
  });
  $("data-version").textContent = version === null ? "–" : String(version);
  renderSummary(results, state);
  renderKaplanMeier(results, state);
  renderCox(results);
  renderIncidence(results, state);
  renderRMST(results, state);
}

// Groups in the order of their field's vocabulary (OD before CNS, ...), else as the server sent them.
function ordered(groups, field) {
  var labels = VALUE_LABELS[field];
  if (!labels) return groups;
  var order = Object.keys(labels);
  var rank = function (g) { var i = order.indexOf(String(g.key)); return i < 0 ? order.length : i; };
  return groups.slice().sort(function (a, b) { return rank(a) - rank(b); });
}
var SUPPRESSED = "Too few patients to report (below the minimum cell size).";

function renderSummary(results, state) {
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
  ordered(Array.isArray(summary.groups) ? summary.groups : [], state.group_by).forEach(function (g) {
    var label = state.group_by ? labelOfValue(state.group_by, g.key) : "All patients";
    rows.push(row(g, label, medians[g.key], !state.group_by));
  });
  if (rows.length === 0 || summary.n === 0) {
    messageRow(body, 7, "No cases match this selection.", false);
    return;
  }
  body.replaceChildren.apply(body, rows);
}

function renderKaplanMeier(results, state) {
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
  var rows = ordered(survival.groups || [], state.group_by).map(function (g) {
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

function renderIncidence(results, state) {
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
  var groupOrder = ordered(groups, state.group_by).map(function (g) { return String(g.key); });
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

function renderRMST(results, state) {
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
