// The Glimvid API: JSON over fetch with the bearer token from localStorage.
// No cookies are ever sent or set (credentials: "omit").
import { API_BASE } from "../config.js";

const TOKEN_KEY = "glimvid.token";

export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token) {
    localStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
  },
};

/** Base URL for links the API serves (e.g. public video links). */
export const apiOrigin = () => API_BASE || window.location.origin;

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || (status === 0 ? "network" : "http_" + status);
    this.field = error.field || null;
    this.serverMessage = error.message || null;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/**
 * Calls the API. Options: `auth: false` sends no token (for the routes
 * that need none, e.g. links opened from an email in another browser);
 * `quiet: true` leaves a 401 to the caller instead of ending the session
 * through the unauthorized handler.
 */
export async function api(method, path, body, { auth = true, quiet = false } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const token = auth ? session.token : null;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const err = new ApiError(response.status, data);
    if (response.status === 401 && token && !quiet) onUnauthorized(err);
    throw err;
  }
  return data;
}

/**
 * PUTs a file straight to storage with the presigned ticket, reporting
 * progress. Sends exactly the headers the ticket names, except
 * content-length, which the browser sets itself from the file.
 */
export function uploadFile(ticket, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method || "PUT", ticket.url);
    for (const [name, value] of Object.entries(ticket.headers || {})) {
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.withCredentials = false;
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress((e.loaded / e.total) * 100);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(100);
        resolve();
      } else {
        reject(new ApiError(xhr.status, { error: { code: "upload_failed", field: "photo" } }));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, { error: { code: "upload_failed", field: "photo" } }));
    xhr.send(file);
  });
}
