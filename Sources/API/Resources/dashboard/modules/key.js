// The analyst key: kept in local storage (in memory only where storage is refused), never in an address.

import { $ } from "./dom.js";

var STORAGE_KEY = "icmm.apiKey";
var memoryKey = null;

function storedKey() {
  try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return null; }
}
export function storeKey(key) {
  try { window.localStorage.setItem(STORAGE_KEY, key); } catch (e) { /* private mode: memory only */ }
  memoryKey = key;
}
export function forgetKey() {
  try { window.localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
  memoryKey = null;
}
export function currentKey() { return storedKey() || memoryKey; }
export function showKeyState() {
  $("key-state").textContent = currentKey() ? "A key is stored in this browser." : "No key stored.";
}

// A key in the address (#key=...) is stored, then removed from the address bar and history.
export function takeKeyFromFragment() {
  var hash = window.location.hash.replace(/^#/, "");
  if (!hash) return;
  var params = new URLSearchParams(hash);
  var key = params.get("key");
  if (key === null) return;
  params.delete("key");
  var rest = params.toString();
  history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? "#" + rest : ""));
  if (key.trim()) storeKey(key.trim());
}
