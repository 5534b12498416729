// Elements of the page: found by id, or built as DOM nodes (text only, never markup).

export var $ = function (id) { return document.getElementById(id); };

export function tr(cells, attributes) {
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
export function messageRow(body, span, text, unavailable) {
  var row = document.createElement("tr");
  var td = document.createElement("td");
  td.colSpan = span;
  td.className = unavailable ? "unavailable" : "suppressed";
  td.textContent = text;
  row.appendChild(td);
  body.replaceChildren(row);
}
export function headRow(id, labels) {
  $(id).replaceChildren.apply($(id), labels.map(function (text) {
    var th = document.createElement("th");
    th.scope = "col";
    th.textContent = text;
    return th;
  }));
}
