// The API reference page: the backend's OpenAPI document (GET /openapi.json)
// drawn as a page. The first half is pure functions over the spec (no DOM):
// $ref resolution, type labels, examples built from schemas, the curl
// example. The second half builds the page with dom.js's h(), text only
// (textContent), like the rest of the app.
import { h, setT } from "./dom.js";

export const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// ---------------------------------------------------------------- pure: refs

/**
 * The value a local JSON pointer names (`#/components/schemas/Job`), or
 * undefined. Only references inside the document are followed.
 */
export function resolvePointer(spec, ref) {
  if (typeof ref !== "string" || !ref.startsWith("#")) return undefined;
  const pointer = ref.slice(1);
  if (pointer === "") return spec;
  if (!pointer.startsWith("/")) return undefined;
  let node = spec;
  for (const raw of pointer.slice(1).split("/")) {
    let part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    try {
      part = decodeURIComponent(part);
    } catch {
      // A literal `%` stays as it is.
    }
    if (node === null || typeof node !== "object" || !has(node, part)) return undefined;
    node = node[part];
  }
  return node;
}

/** The last segment of a $ref, e.g. `Job` for `#/components/schemas/Job`. */
export function refName(ref) {
  const last = String(ref || "").split("/").pop() || "";
  return last.replace(/~1/g, "/").replace(/~0/g, "~");
}

/**
 * Follows a chain of $refs to the object they name. Keys beside a $ref
 * (OpenAPI 3.1 allows e.g. a description there) win over the target's.
 * A ref that can't be resolved, or a loop, gives what was found so far
 * (an empty object at worst), never an exception.
 */
export function deref(spec, node) {
  let current = node;
  let siblings = null;
  const seen = new Set();
  while (isObject(current) && typeof current.$ref === "string") {
    if (seen.has(current.$ref)) return { ...(siblings || {}) };
    seen.add(current.$ref);
    const { $ref, ...rest } = current;
    if (Object.keys(rest).length) siblings = { ...rest, ...(siblings || {}) };
    current = resolvePointer(spec, $ref);
    if (current === undefined) return { ...(siblings || {}) };
  }
  if (siblings && isObject(current)) return { ...current, ...siblings };
  return current;
}

// ---------------------------------------------------------------- pure: schemas

function jsonType(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (Number.isInteger(value)) return "integer";
  return typeof value === "object" ? "object" : typeof value;
}

/** A schema's types: `type` as a list (3.1 allows several), else inferred. */
function typesOf(schema) {
  if (!isObject(schema)) return [];
  if (Array.isArray(schema.type)) return schema.type.filter((t) => typeof t === "string");
  if (typeof schema.type === "string") return [schema.type];
  if (isObject(schema.properties)) return ["object"];
  if (schema.items) return ["array"];
  if (Array.isArray(schema.enum) && schema.enum.length) {
    const first = schema.enum.find((v) => v !== null);
    return [jsonType(first === undefined ? null : first)];
  }
  if (schema.const !== undefined) return [jsonType(schema.const)];
  return [];
}

/** The type that matters for building examples: the first one that isn't null. */
function mainType(schema) {
  const types = typesOf(schema);
  return types.find((t) => t !== "null") || types[0] || "";
}

/**
 * A short, readable type: `string`, `string (uri)`, `integer | null`,
 * `Job`, `string[]`, `Job | Error`.
 */
export function typeLabel(spec, schema, depth = 0) {
  if (!isObject(schema)) return "";
  if (depth > 6) return "…";
  if (typeof schema.$ref === "string") {
    const target = deref(spec, schema);
    const name = refName(schema.$ref);
    const inner = mainType(target);
    // Named objects read best by name; a named string enum reads as its type.
    if (!inner || inner === "object") return name || "object";
    return typeLabel(spec, target, depth + 1) || name;
  }
  const alternatives = schema.oneOf || schema.anyOf;
  if (Array.isArray(alternatives) && alternatives.length) {
    const labels = [...new Set(alternatives.map((s) => typeLabel(spec, s, depth + 1)).filter(Boolean))];
    if (schema.nullable === true && !labels.includes("null")) labels.push("null");
    return labels.join(" | ");
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length && !typesOf(schema).length) {
    const labels = schema.allOf.map((s) => typeLabel(spec, s, depth + 1)).filter(Boolean);
    return labels.length === 1 ? labels[0] : "object";
  }
  const labels = typesOf(schema).map((type) => {
    if (type === "array") {
      const item = typeLabel(spec, schema.items, depth + 1) || "any";
      return /[ |]/.test(item) ? `(${item})[]` : `${item}[]`;
    }
    if (type === "string" && typeof schema.format === "string") return `string (${schema.format})`;
    return type;
  });
  if (schema.nullable === true && !labels.includes("null")) labels.push("null");
  return labels.join(" | ") || "any";
}

const STRING_EXAMPLES = {
  uri: "https://example.com",
  url: "https://example.com",
  email: "you@example.com",
  "date-time": "2025-01-31T12:00:00Z",
  date: "2025-01-31",
  time: "12:00:00",
  uuid: "3f2b8c1e-6a4d-4f0e-9b7a-1c2d3e4f5a6b",
  ipv4: "203.0.113.7",
  hostname: "example.com",
};

/** Merges allOf parts into one object schema (properties and required). */
function mergeAllOf(spec, schema) {
  const merged = { ...schema, properties: { ...(schema.properties || {}) }, required: [...(schema.required || [])] };
  delete merged.allOf;
  for (const part of schema.allOf) {
    const p = deref(spec, part);
    if (!isObject(p)) continue;
    const flat = Array.isArray(p.allOf) ? mergeAllOf(spec, p) : p;
    Object.assign(merged.properties, flat.properties || {});
    merged.required.push(...(flat.required || []));
    for (const key of ["type", "description", "example"]) {
      if (merged[key] === undefined && flat[key] !== undefined) merged[key] = flat[key];
    }
  }
  return merged;
}

/**
 * An example value for a schema: its own `example` / `examples` / `const` /
 * `default` / first enum value where it has one, else one built from its
 * type (objects from their properties, arrays with one item). `mode`
 * "request" leaves out readOnly properties, "response" writeOnly ones.
 * Recursive schemas stop at the first repeat (undefined: left out).
 */
export function exampleFromSchema(spec, schema, mode = "request", stack = []) {
  if (!isObject(schema)) return undefined;
  if (typeof schema.$ref === "string") {
    if (stack.includes(schema.$ref) || stack.length > 12) return undefined;
    return exampleFromSchema(spec, deref(spec, schema), mode, [...stack, schema.$ref]);
  }
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.const !== undefined) return schema.const;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) {
    const first = schema.enum.find((v) => v !== null);
    return first === undefined ? null : first;
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length) {
    return exampleFromSchema(spec, mergeAllOf(spec, schema), mode, stack);
  }
  const alternatives = schema.oneOf || schema.anyOf;
  if (Array.isArray(alternatives) && alternatives.length) {
    const pick = alternatives.find((s) => mainType(deref(spec, s)) !== "null") || alternatives[0];
    return exampleFromSchema(spec, pick, mode, stack);
  }
  switch (mainType(schema)) {
    case "object": {
      const out = {};
      for (const [name, prop] of Object.entries(schema.properties || {})) {
        const target = deref(spec, prop);
        if (!isObject(target)) continue;
        if (mode === "request" && target.readOnly === true) continue;
        if (mode === "response" && target.writeOnly === true) continue;
        const value = exampleFromSchema(spec, prop, mode, stack);
        if (value !== undefined) out[name] = value;
      }
      return out;
    }
    case "array": {
      const item = exampleFromSchema(spec, schema.items, mode, stack);
      return item === undefined ? [] : [item];
    }
    case "string":
      return STRING_EXAMPLES[schema.format] || (typeof schema.minLength === "number" && schema.minLength > 6 ? "x".repeat(schema.minLength) : "string");
    case "integer":
      return typeof schema.minimum === "number" ? Math.ceil(schema.minimum) : typeof schema.exclusiveMinimum === "number" ? Math.floor(schema.exclusiveMinimum) + 1 : 0;
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    default:
      return undefined;
  }
}

/**
 * The fields of an object schema as rows (nested objects and arrays of
 * objects as `a.b` and `a[].b`, three levels deep), each with name, type,
 * required, description, enum, default and limits.
 */
export function schemaFields(spec, schema, mode = "request", prefix = "", depth = 0, stack = []) {
  let target = schema;
  const nextStack = [...stack];
  while (isObject(target) && typeof target.$ref === "string") {
    if (nextStack.includes(target.$ref)) return [];
    nextStack.push(target.$ref);
    target = deref(spec, target);
  }
  if (!isObject(target)) return [];
  if (Array.isArray(target.allOf) && target.allOf.length) target = mergeAllOf(spec, target);
  if (mainType(target) === "array" && depth < 3) {
    return schemaFields(spec, target.items, mode, `${prefix}[].`, depth + 1, nextStack);
  }
  if (!isObject(target.properties)) return [];
  const required = new Set(Array.isArray(target.required) ? target.required : []);
  const rows = [];
  for (const [key, prop] of Object.entries(target.properties)) {
    const resolved = deref(spec, prop);
    if (!isObject(resolved)) continue;
    if (mode === "request" && resolved.readOnly === true) continue;
    if (mode === "response" && resolved.writeOnly === true) continue;
    const name = `${prefix}${key}`;
    rows.push({
      name,
      type: typeLabel(spec, prop),
      required: required.has(key),
      description: typeof resolved.description === "string" ? resolved.description : "",
      enum: Array.isArray(resolved.enum) ? resolved.enum : null,
      default: resolved.default,
      limits: limitsOf(resolved),
      deprecated: resolved.deprecated === true,
    });
    if (depth < 2) {
      const inner = mainType(resolved);
      const item = inner === "array" ? deref(spec, resolved.items) : null;
      if (inner === "object" || (item && mainType(item) === "object")) {
        const child = inner === "object" ? prop : resolved.items;
        const childPrefix = inner === "object" ? `${name}.` : `${name}[].`;
        rows.push(...schemaFields(spec, child, mode, childPrefix, depth + 1, nextStack));
      }
    }
  }
  return rows;
}

/** The size and range limits a schema states, as [kind, number] pairs. */
function limitsOf(schema) {
  const out = [];
  for (const key of ["minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"]) {
    // "At least one" is what a required field already says.
    if ((key === "minLength" || key === "minItems") && schema[key] <= 1) continue;
    if (typeof schema[key] === "number") out.push([key, schema[key]]);
  }
  return out;
}

// ---------------------------------------------------------------- pure: operations

/** Path-level parameters with the operation's own (which win by name and place), refs resolved. */
export function mergeParams(spec, pathParams, opParams) {
  const byKey = new Map();
  for (const list of [pathParams, opParams]) {
    for (const raw of Array.isArray(list) ? list : []) {
      const p = deref(spec, raw);
      if (!isObject(p) || typeof p.name !== "string") continue;
      byKey.set(`${p.in}:${p.name}`, p);
    }
  }
  return [...byKey.values()];
}

/** Every operation under `paths` (or under `webhooks`), in document order. */
export function operations(spec, section = "paths") {
  const out = [];
  const items = isObject(spec) && isObject(spec[section]) ? spec[section] : {};
  for (const [path, rawItem] of Object.entries(items)) {
    const item = deref(spec, rawItem);
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      out.push({ path, method, op, params: mergeParams(spec, item.parameters, op.parameters) });
    }
  }
  return out;
}

/**
 * Operations grouped by their first tag: the spec's top-level `tags` first,
 * in its order, then tags it does not declare, then untagged ones (name null).
 */
export function groupByTag(spec, ops) {
  const groups = new Map();
  for (const tag of Array.isArray(spec.tags) ? spec.tags : []) {
    if (isObject(tag) && typeof tag.name === "string" && !groups.has(tag.name)) {
      groups.set(tag.name, { name: tag.name, description: typeof tag.description === "string" ? tag.description : "", ops: [] });
    }
  }
  const untagged = [];
  for (const o of ops) {
    const tag = Array.isArray(o.op.tags) ? o.op.tags.find((x) => typeof x === "string") : undefined;
    if (tag === undefined) {
      untagged.push(o);
      continue;
    }
    if (!groups.has(tag)) groups.set(tag, { name: tag, description: "", ops: [] });
    groups.get(tag).ops.push(o);
  }
  const out = [...groups.values()].filter((g) => g.ops.length);
  if (untagged.length) out.push({ name: null, description: "", ops: untagged });
  return out;
}

/**
 * Who may call an operation: its `security` (else the document's). `send`:
 * an Authorization header belongs in the example; `apiKey`: a personal API
 * key is accepted (the requirement list names the `apiKey` scheme).
 */
export function authOf(spec, op) {
  const list = Array.isArray(op && op.security) ? op.security : Array.isArray(spec && spec.security) ? spec.security : [];
  const reqs = list.filter(isObject);
  const named = reqs.filter((r) => Object.keys(r).length > 0);
  return {
    send: named.length > 0,
    optional: named.length > 0 && reqs.some((r) => Object.keys(r).length === 0),
    apiKey: named.some((r) => has(r, "apiKey")),
    schemes: [...new Set(named.flatMap((r) => Object.keys(r)))],
  };
}

/** The request body's JSON (or first) media type, refs resolved; null when there is none. */
export function requestBody(spec, op) {
  const body = deref(spec, op && op.requestBody);
  if (!isObject(body) || !isObject(body.content)) return null;
  const types = Object.keys(body.content);
  const contentType = types.find((t) => /^application\/([\w.-]+\+)?json\b/i.test(t)) || types[0];
  if (!contentType) return null;
  const media = deref(spec, body.content[contentType]);
  return {
    contentType,
    required: body.required === true,
    description: typeof body.description === "string" ? body.description : "",
    schema: isObject(media) && isObject(media.schema) ? media.schema : null,
    media: isObject(media) ? media : {},
  };
}

/** A media type's example: its `example`, its first `examples` value, else one built from its schema. */
export function mediaExample(spec, media, mode = "request") {
  if (!isObject(media)) return undefined;
  if (media.example !== undefined) return media.example;
  if (isObject(media.examples)) {
    for (const raw of Object.values(media.examples)) {
      const ex = deref(spec, raw);
      if (isObject(ex) && ex.value !== undefined) return ex.value;
    }
  }
  return exampleFromSchema(spec, media.schema, mode);
}

/** A parameter's example value, if the spec gives or implies one. */
export function paramExample(spec, param) {
  if (param.example !== undefined) return param.example;
  if (isObject(param.examples)) {
    for (const raw of Object.values(param.examples)) {
      const ex = deref(spec, raw);
      if (isObject(ex) && ex.value !== undefined) return ex.value;
    }
  }
  const schema = deref(spec, param.schema);
  if (!isObject(schema)) return undefined;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  return undefined;
}

/** `s` as one single-quoted shell word: `it's` becomes `'it'\''s'`. */
export function shellQuote(s) {
  return `'${String(s).replace(/'/g, "'\\''")}'`;
}

/** `s` made safe inside a double-quoted shell word (no expansion of its own). */
function inDoubleQuotes(s) {
  return String(s).replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/**
 * The curl command for an operation: `curl -X POST "$GLIMVID_API/videos"`,
 * the Authorization header when the operation has security (the API key
 * where it is accepted, else the session token), and for a request body its
 * content type and its example as one single-quoted word. Path parameters
 * with an example are filled in; others stay `{name}`.
 */
export function curlExample(spec, { method, path, op, params = [] }) {
  const asText = (v) => (isObject(v) || Array.isArray(v) ? JSON.stringify(v) : String(v));
  let url = String(path).replace(/\{([^}]+)\}/g, (whole, name) => {
    const param = params.find((p) => p.in === "path" && p.name === name);
    const ex = param ? paramExample(spec, param) : undefined;
    return ex === undefined || ex === null ? whole : encodeURIComponent(asText(ex));
  });
  const query = params
    .filter((p) => p.in === "query" && p.required === true)
    .map((p) => {
      const ex = paramExample(spec, p);
      return `${encodeURIComponent(p.name)}=${ex === undefined || ex === null ? "" : encodeURIComponent(asText(ex))}`;
    });
  if (query.length) url += `?${query.join("&")}`;
  const lines = [`curl -X ${String(method).toUpperCase()} "$GLIMVID_API${inDoubleQuotes(url)}"`];
  const auth = authOf(spec, op);
  if (auth.send) lines.push(`-H "Authorization: Bearer ${auth.apiKey ? "$GLIMVID_API_KEY" : "$GLIMVID_TOKEN"}"`);
  const body = requestBody(spec, op);
  if (body) {
    let example = mediaExample(spec, body.media, "request");
    if (example === undefined) example = {};
    const json = /json/i.test(body.contentType);
    const data = typeof example === "string" && !json ? example : JSON.stringify(example, null, 2);
    lines.push(`-H "Content-Type: ${inDoubleQuotes(body.contentType)}"`);
    lines.push(`-d ${shellQuote(data)}`);
  }
  return lines.join(" \\\n  ");
}

/** An id safe in a URL and as an element id. */
export function slug(text) {
  return String(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** The element id for an operation: its operationId, else method and path; unique within `used`. */
export function operationAnchor(o, used = new Set()) {
  const base = typeof o.op.operationId === "string" && o.op.operationId ? o.op.operationId : slug(`${o.method} ${o.path}`) || "operation";
  let id = base;
  for (let n = 2; used.has(id); n += 1) id = `${base}-${n}`;
  used.add(id);
  return id;
}

// ---------------------------------------------------------------- page

/** The hash that opens this page at `id` (an operation, a tag or a section). */
export const anchorHref = (id) => `#/api?op=${encodeURIComponent(id)}`;

/** Scrolls to an element of the page and moves focus to its heading. */
export function jumpTo(id, { smooth = false } = {}) {
  const el = document.getElementById(id);
  if (!el) return false;
  // Clear of the sticky top bar, which is taller on phones (its nav wraps).
  const bar = document.querySelector(".topbar");
  const offset = (bar && getComputedStyle(bar).position === "sticky" ? bar.offsetHeight : 0) + 12;
  window.scrollTo({ top: el.getBoundingClientRect().top + window.scrollY - offset, behavior: smooth ? "smooth" : "auto" });
  const heading = el.matches("h2, h3") ? el : el.querySelector("h2, h3");
  if (heading) {
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  return true;
}

/** A link within the page: shareable hash, but no re-render on click. */
function jumpLink(id, props, ...children) {
  const href = anchorHref(id);
  return h(
    "a",
    {
      href,
      ...props,
      on: {
        click: (e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          if (!document.getElementById(id)) return;
          e.preventDefault();
          history.replaceState(null, "", href);
          const reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
          jumpTo(id, { smooth: !reduced });
        },
      },
    },
    ...children,
  );
}

/** Text with `backtick` spans as <code>, as nodes (never parsed as HTML). */
function inline(text) {
  const parts = String(text).split(/`([^`\n]+)`/);
  return parts.map((part, i) => (i % 2 ? h("code", {}, part) : part)).filter((p) => p !== "");
}

/** A description: paragraphs at blank lines, single line breaks kept by CSS. */
function prose(text, cls = "api-desc") {
  if (typeof text !== "string" || !text.trim()) return null;
  return text
    .trim()
    .split(/\n\s*\n/)
    .map((para) => h("p", { class: cls }, inline(para)));
}

function codeBlock(text, cls = "") {
  return h("pre", { class: `code-block ${cls}`.trim() }, h("code", {}, text));
}

/** A code block with a copy button (and a status line for it). */
function copyBlock(text, { copy, cls, label }) {
  const status = h("span", { class: "copied", role: "status", "aria-live": "polite" });
  const btn = h("button", {
    type: "button",
    class: "btn btn-small",
    "data-action": "copy",
    t: "common.copy",
    tattr: label ? { "aria-label": label } : null,
    on: {
      click: async () => {
        const ok = copy ? await copy(text) : false;
        setT(status, ok ? "common.copied" : "common.copyFailed");
      },
    },
  });
  return h("div", { class: "copy-block" }, codeBlock(text, cls), h("div", { class: "copy-row" }, btn, status));
}

function methodBadge(method) {
  const m = String(method).toLowerCase();
  return h("span", { class: `method method-${m}`, "data-method": m }, m.toUpperCase());
}

function authBadge(auth) {
  if (!auth.send) return h("span", { class: "auth-badge auth-public", t: "apidocs.public" });
  if (auth.apiKey) return h("span", { class: "auth-badge auth-key", "data-api-key": "true", t: "apidocs.apiKeyOk" });
  return h("span", { class: "auth-badge auth-session", t: "apidocs.sessionOnly" });
}

function jsonText(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Rows of fields (body fields or parameters) as a list that reads on a phone. */
function fieldList(rows, { showIn = false } = {}) {
  return h(
    "ul",
    { class: "api-fields" },
    rows.map((f) =>
      h(
        "li",
        { class: "api-field", "data-name": f.name },
        h(
          "div",
          { class: "api-field-head" },
          h("code", { class: "api-field-name" }, f.name),
          f.type ? h("span", { class: "api-field-type" }, f.type) : null,
          showIn && f.in ? h("span", { class: "api-field-in" }, f.in) : null,
          h("span", { class: f.required ? "api-req api-required" : "api-req", t: f.required ? "apidocs.required" : "apidocs.optional" }),
          f.deprecated ? h("span", { class: "api-req api-deprecated", t: "apidocs.deprecated" }) : null,
        ),
        prose(f.description, "api-field-desc"),
        f.enum && f.enum.length
          ? h(
              "p",
              { class: "api-field-extra" },
              h("span", { t: "apidocs.enum" }),
              " ",
              f.enum.map((v, i) => [i ? ", " : "", h("code", {}, jsonText(v))]),
            )
          : null,
        f.default !== undefined
          ? h("p", { class: "api-field-extra" }, h("span", { t: "apidocs.default" }), " ", h("code", {}, jsonText(f.default)))
          : null,
        f.limits && f.limits.length
          ? h(
              "p",
              { class: "api-field-extra" },
              f.limits.map(([kind, n], i) => [i ? " · " : "", h("span", { t: `apidocs.limit.${kind}`, vars: { n } })]),
            )
          : null,
      ),
    ),
  );
}

function paramRows(spec, params) {
  return params.map((p) => {
    const schema = deref(spec, p.schema);
    return {
      name: p.name,
      in: p.in,
      type: typeLabel(spec, p.schema),
      required: p.required === true || p.in === "path",
      description: typeof p.description === "string" ? p.description : isObject(schema) && typeof schema.description === "string" ? schema.description : "",
      enum: isObject(schema) && Array.isArray(schema.enum) ? schema.enum : null,
      default: isObject(schema) ? schema.default : undefined,
      limits: isObject(schema) ? limitsOf(schema) : [],
      deprecated: p.deprecated === true,
    };
  });
}

function subHead(key) {
  return h("h4", { class: "api-sub", t: key });
}

/** The response codes, each with its description (and its fields, folded). */
function responsesList(spec, responses) {
  const entries = Object.entries(isObject(responses) ? responses : {});
  if (!entries.length) return null;
  // Numbered codes in order, `default` and ranges (`4XX`) after them.
  entries.sort(([a], [b]) => {
    const na = /^\d+$/.test(a) ? Number(a) : 1000;
    const nb = /^\d+$/.test(b) ? Number(b) : 1000;
    return na - nb;
  });
  return [
    subHead("apidocs.responses"),
    h(
      "ul",
      { class: "api-responses" },
      entries.map(([code, raw]) => {
        const r = deref(spec, raw);
        const content = isObject(r) && isObject(r.content) ? r.content : {};
        const type = Object.keys(content).find((t) => /json/i.test(t));
        const media = type ? deref(spec, content[type]) : null;
        const schema = isObject(media) ? media.schema : null;
        const fields = schema && /^2/.test(code) ? schemaFields(spec, schema, "response") : [];
        const kind = /^2/.test(code) ? "ok" : /^[45]/.test(code) ? "error" : "other";
        return h(
          "li",
          { class: `api-response api-response-${kind}`, "data-status": code },
          h(
            "div",
            { class: "api-response-head" },
            h("code", { class: "api-status" }, code),
            isObject(r) && r.description ? h("span", { class: "api-response-desc" }, inline(r.description)) : null,
            schema ? h("span", { class: "api-field-type" }, typeLabel(spec, schema)) : null,
          ),
          fields.length ? h("details", { class: "api-details" }, h("summary", { t: "apidocs.responseFields" }), fieldList(fields)) : null,
        );
      }),
    ),
  ];
}

function operationCard(spec, o, id, { copy, webhook = false }) {
  const { op, method, path, params } = o;
  const auth = authOf(spec, op);
  const body = requestBody(spec, op);
  const bodyFields = body && body.schema ? schemaFields(spec, body.schema, webhook ? "response" : "request") : [];
  const headingId = `${id}-title`;
  const title = typeof op.summary === "string" && op.summary ? op.summary : op.operationId || `${method.toUpperCase()} ${path}`;
  return h(
    "article",
    {
      class: `api-op${webhook ? " api-webhook" : ""}`,
      id,
      "data-method": method,
      "data-path": path,
      "data-api-key": auth.apiKey ? "true" : "false",
      "aria-labelledby": headingId,
    },
    h(
      "div",
      { class: "api-op-head" },
      methodBadge(method),
      h("code", { class: "api-path" }, path),
      webhook ? null : authBadge(auth),
      op.deprecated === true ? h("span", { class: "auth-badge api-deprecated", t: "apidocs.deprecated" }) : null,
      jumpLink(id, { class: "api-anchor", tattr: { "aria-label": "apidocs.opLink" } }, "#"),
    ),
    h("h3", { class: "api-summary", id: headingId, tabindex: "-1" }, title),
    typeof op.operationId === "string" && op.operationId ? h("p", { class: "api-opid muted small" }, h("code", {}, op.operationId)) : null,
    prose(op.description),
    params.length ? [subHead(webhook ? "apidocs.headers" : "apidocs.parameters"), fieldList(paramRows(spec, params), { showIn: !webhook })] : null,
    body
      ? [
          subHead(webhook ? "apidocs.payload" : "apidocs.requestBody"),
          h(
            "p",
            { class: "api-body-type muted small" },
            h("code", {}, body.contentType),
            body.schema ? [" · ", h("span", {}, typeLabel(spec, body.schema))] : null,
            body.required && !webhook ? [" · ", h("span", { t: "apidocs.required" })] : null,
          ),
          prose(body.description),
          bodyFields.length ? fieldList(bodyFields) : null,
        ]
      : null,
    webhook ? null : responsesList(spec, op.responses),
    webhook
      ? body
        ? [subHead("apidocs.examplePayload"), copyBlock(JSON.stringify(mediaExample(spec, body.media, "response") ?? {}, null, 2), { copy, cls: "json-example" })]
        : null
      : h("div", { class: "api-example" }, subHead("apidocs.example"), copyBlock(curlExample(spec, o), { copy, cls: "curl" })),
  );
}

const VERIFY_SAMPLE = `import crypto from "node:crypto";

// header: the Glimvid-Signature value; rawBody: the request body exactly
// as received (a string, before JSON parsing); secret: the endpoint's secret.
export function verifyGlimvid(header, rawBody, secret, toleranceSeconds = 300) {
  const parts = Object.fromEntries(
    String(header).split(",").map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i).trim(), kv.slice(i + 1).trim()];
    }),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = crypto.createHmac("sha256", secret).update(\`\${parts.t}.\${rawBody}\`).digest();
  const given = Buffer.from(parts.v1 || "", "hex");
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}`;

function webhooksSection(spec, used, copy) {
  const hooks = operations(spec, "webhooks");
  return h(
    "section",
    { class: "api-group api-webhooks", id: "webhooks", "aria-labelledby": "webhooks-title" },
    h("h2", { id: "webhooks-title", tabindex: "-1", t: "apidocs.webhooks" }),
    h("p", { class: "api-desc", t: "apidocs.webhooksLead" }),
    h("p", {}, h("a", { href: "#/account", id: "webhooks-account-link", t: "apidocs.webhooksAccount" })),
    hooks.map((o) => {
      const id = operationAnchor({ ...o, op: { ...o.op, operationId: o.op.operationId || `webhook-${slug(o.path)}` } }, used);
      return operationCard(spec, o, id, { copy, webhook: true });
    }),
    h(
      "article",
      { class: "api-op api-signature", id: "webhook-signature", "aria-labelledby": "webhook-signature-title" },
      h("h3", { class: "api-summary", id: "webhook-signature-title", tabindex: "-1", t: "apidocs.signature" }),
      h("p", { class: "api-desc", t: "apidocs.signatureText" }),
      codeBlock("Glimvid-Signature: t=1735646400,v1=5f2c0e…", "signature-sample"),
      subHead("apidocs.verify"),
      h(
        "ol",
        { class: "api-steps" },
        h("li", { t: "apidocs.verify1" }),
        h("li", { t: "apidocs.verify2" }),
        h("li", {}, h("span", { t: "apidocs.verify3" }), " ", h("code", {}, "${t}.${rawBody}")),
        h("li", { t: "apidocs.verify4" }),
        h("li", { t: "apidocs.verify5" }),
        h("li", { t: "apidocs.verify6" }),
      ),
      subHead("apidocs.verifyCode"),
      copyBlock(VERIFY_SAMPLE, { copy, cls: "verify-sample" }),
    ),
  );
}

function introCard(spec, origin, copy) {
  const info = isObject(spec.info) ? spec.info : {};
  const schemes = isObject(spec.components) && isObject(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
  const env = `export GLIMVID_API=${shellQuote(origin)}\nexport GLIMVID_API_KEY='glv_…'`;
  return h(
    "section",
    { class: "card api-intro", id: "api-intro", "aria-labelledby": "api-intro-title" },
    h(
      "div",
      { class: "api-intro-head" },
      h("h2", { id: "api-intro-title", tabindex: "-1" }, typeof info.title === "string" && info.title ? info.title : "Glimvid API"),
      typeof info.version === "string" ? h("span", { class: "badge badge-queued", id: "api-version", t: "apidocs.version", vars: { v: info.version } }) : null,
    ),
    prose(info.description),
    h("h3", { class: "api-sub", t: "apidocs.baseUrl" }),
    h("p", { t: "apidocs.baseUrlText" }),
    copyBlock(env, { copy, cls: "env" }),
    h("h3", { class: "api-sub", id: "auth", t: "apidocs.auth" }),
    h(
      "ul",
      { class: "api-auth" },
      h(
        "li",
        { "data-scheme": "session" },
        h("p", {}, h("strong", { t: "apidocs.authSessionTitle" }), " ", h("span", { t: "apidocs.authSession" })),
        codeBlock("Authorization: Bearer <session token>"),
      ),
      h(
        "li",
        { "data-scheme": "apiKey" },
        h("p", {}, h("strong", { t: "apidocs.authKeyTitle" }), " ", h("span", { t: "apidocs.authKey" }), " ", h("a", { href: "#/account", id: "api-key-link", t: "apidocs.authKeyLink" })),
        codeBlock("Authorization: Bearer glv_…"),
      ),
    ),
    Object.keys(schemes).length
      ? h(
          "dl",
          { class: "api-schemes" },
          Object.entries(schemes).map(([name, raw]) => {
            const s = deref(spec, raw) || {};
            const kind = [s.type, s.scheme, s.in, s.name].filter((x) => typeof x === "string").join(" · ");
            return [
              h("dt", {}, h("code", {}, name), kind ? h("span", { class: "muted small" }, ` ${kind}`) : null),
              h("dd", {}, prose(s.description) || h("span", { class: "muted" }, "–")),
            ];
          }),
        )
      : null,
    h("h3", { class: "api-sub", t: "apidocs.errors" }),
    h("p", { t: "apidocs.errorsText" }),
    codeBlock('{"error": {"code": "insufficient_credits", "message": "not enough credits: this costs 2"}}'),
  );
}

function tocCard(groups, anchors) {
  return h(
    "nav",
    { class: "card api-toc", id: "api-toc", tattr: { "aria-label": "apidocs.contents" } },
    h("h2", { t: "apidocs.contents" }),
    h(
      "ol",
      { class: "api-toc-groups" },
      groups.map((g) =>
        h(
          "li",
          {},
          jumpLink(g.id, { class: "api-toc-tag" }, g.name === null ? h("span", { t: "apidocs.untagged" }) : g.name),
          h(
            "ul",
            { class: "api-toc-ops" },
            g.ops.map((o) =>
              h(
                "li",
                {},
                jumpLink(anchors.get(o), { class: "api-toc-op" }, methodBadge(o.method), " ", h("span", { class: "api-toc-path" }, o.path)),
              ),
            ),
          ),
        ),
      ),
      h("li", {}, jumpLink("webhooks", { class: "api-toc-tag", t: "apidocs.webhooks" })),
    ),
  );
}

/**
 * The page's content for a spec: intro (title, description, base URL,
 * authentication, errors), contents, the operations grouped by tag, and
 * webhooks. `origin`: the API's base URL; `copy(text)`: copies to the
 * clipboard, resolving to whether it worked.
 */
export function renderApiDocs(spec, { origin = "", copy } = {}) {
  // Ids the page or the app's frame already use; an operation named like one gets a suffix.
  const used = new Set(["webhooks", "webhook-signature", "api-intro", "api-toc", "auth", "api-docs", "api-loading", "api-retry", "main", "nav", "flash", "notices", "lang-switch"]);
  const ops = operations(spec);
  const anchors = new Map(ops.map((o) => [o, operationAnchor(o, used)]));
  const groups = groupByTag(spec, ops).map((g) => {
    let id = `tag-${slug(g.name === null ? "other" : g.name) || "other"}`;
    for (let n = 2; used.has(id); n += 1) id = `tag-${slug(g.name || "other")}-${n}`;
    used.add(id);
    return { ...g, id };
  });
  return [
    introCard(spec, origin, copy),
    groups.length ? tocCard(groups, anchors) : h("p", { class: "card muted", t: "apidocs.noOps" }),
    groups.map((g) =>
      h(
        "section",
        { class: "api-group", id: g.id, "data-tag": g.name === null ? "" : g.name, "aria-labelledby": `${g.id}-title` },
        h("h2", { id: `${g.id}-title`, tabindex: "-1", t: g.name === null ? "apidocs.untagged" : null }, g.name === null ? null : g.name),
        prose(g.description, "api-desc api-tag-desc"),
        g.ops.map((o) => operationCard(spec, o, anchors.get(o), { copy })),
      ),
    ),
    webhooksSection(spec, used, copy),
  ]
    .flat(Infinity)
    .filter(Boolean);
}
