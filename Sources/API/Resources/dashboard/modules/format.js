// Numbers as the tables show them: fixed digits, p-values, percentages, confidence intervals.

export function format(value, digits) {
  return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
}
export function formatP(p) {
  if (typeof p !== "number" || !isFinite(p)) return "–";
  return p < 0.001 ? "< 0.001" : p.toFixed(3);
}
export function interval(estimate, lower, upper, digits) {
  var text = typeof estimate === "number" ? format(estimate, digits) : "not reached";
  if (typeof lower === "number" || typeof upper === "number") {
    text += " (" + format(lower, digits) + "–" + (typeof upper === "number" ? format(upper, digits) : "NR") + ")";
  }
  return text;
}
export function withInterval(e, digits) {
  if (!e || typeof e !== "object") return "–";
  if (typeof e.estimate !== "number" && typeof e.lower !== "number") return "not reached";
  return interval(e.estimate, e.lower, e.upper, digits);
}
function percent(value) { return typeof value === "number" && isFinite(value) ? (100 * value).toFixed(1) + "%" : "–"; }
export function percentInterval(e, l, u) {
  if (typeof e !== "number") return "–";
  return percent(e) + (typeof l === "number" || typeof u === "number" ? " (" + percent(l) + "–" + percent(u) + ")" : "");
}
