// A tiny DOM builder. Translated text is marked with data attributes so a
// language switch can re-translate the page in place (no reload, no lost input).
import { localize } from "./i18n.js";

const PROPS = new Set(["value", "checked", "disabled", "hidden", "textContent", "selected", "multiple"]);

/**
 * h("button", {class: "btn", t: "key", on: {click}}, ...children)
 * - t / vars: translated text content (key + interpolation values)
 * - tattr: {attribute: key} translated attributes (placeholder, aria-label...)
 * - fmt: {kind: "date" | "day" | "money" | "number", value, currency}: locale-formatted text
 *   (a spec can also be a value in `vars`)
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "t") el.dataset.i18n = value;
    else if (key === "vars") el.dataset.i18nVars = JSON.stringify(value);
    else if (key === "tattr") el.dataset.i18nAttr = JSON.stringify(value);
    else if (key === "fmt") el.dataset.fmt = JSON.stringify(value);
    else if (key === "on") for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === "class") el.className = value;
    else if (PROPS.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  if (el.dataset.i18n || el.dataset.i18nAttr || el.dataset.fmt) localize(el, false);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Points an element at another translated string. */
export function setT(el, key, vars) {
  el.dataset.i18n = key;
  if (vars) el.dataset.i18nVars = JSON.stringify(vars);
  else delete el.dataset.i18nVars;
  localize(el, false);
}

let ids = 0;
export const uid = (prefix) => `${prefix}-${++ids}`;

/** A labelled form field with a slot for its error message. */
export function field({ name, label, type = "text", hint, control, ...attrs }) {
  const id = attrs.id || `f-${name}`;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const input =
    control ||
    h(type === "textarea" ? "textarea" : "input", {
      id,
      name,
      type: type === "textarea" ? null : type,
      "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
      ...attrs,
    });
  return h(
    "div",
    { class: "field", "data-field": name },
    h("label", { for: id, t: label }),
    input,
    hint ? h("p", { class: "hint", id: hintId, t: hint }) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }),
  );
}

/** A checkbox with its label beside it. */
export function checkbox({ name, label, checked = false, vars, hint, id = `f-${name}` }) {
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  return h(
    "div",
    { class: "field field-check", "data-field": name },
    h(
      "div",
      { class: "check-row" },
      h("input", {
        type: "checkbox",
        id,
        name,
        checked,
        "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
      }),
      h("label", { for: id, t: label, vars }),
    ),
    hint ? h("p", { class: "hint", id: hintId, t: hint }) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }),
  );
}

export function button(key, props = {}) {
  return h("button", { type: "button", class: "btn", t: key, ...props });
}

/** Shows a button as busy while an action runs; returns the action's result. */
export async function busy(btn, action) {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}

/** A progress bar with a percent label, e.g. for uploads and jobs. */
export function progressBar(labelKey, id) {
  const fill = h("div", { class: "progress-fill" });
  const text = h("span", { class: "progress-text" }, "0%");
  const bar = h(
    "div",
    {
      class: "progress",
      id,
      role: "progressbar",
      "aria-valuemin": "0",
      "aria-valuemax": "100",
      "aria-valuenow": "0",
      tattr: { "aria-label": labelKey },
    },
    fill,
  );
  const wrap = h("div", { class: "progress-wrap" }, bar, text);
  wrap.set = (percent) => {
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    fill.style.width = `${p}%`;
    bar.setAttribute("aria-valuenow", String(p));
    text.textContent = `${p}%`;
  };
  return wrap;
}
