// The server's plots: its SVG parsed as XML, cleaned down to drawing, and placed in a view; or a
// sentence saying why there is no plot.

import { $ } from "./dom.js";
import { failureText } from "./requests.js";

var SVG_NS = "http://www.w3.org/2000/svg";

export function placeholder(name, text, unavailable) {
  var p = document.createElement("p");
  p.className = unavailable ? "placeholder unavailable" : "placeholder";
  p.textContent = text;
  var box = $("plot-" + name);
  box.removeAttribute("role");
  box.removeAttribute("aria-label");
  box.replaceChildren(p);
}

export function plot(name, r, title, describedBy) {
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
