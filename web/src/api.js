// The JSON API, with the bearer token from sessionStorage (gone when the tab closes).
// Every failure becomes an ApiProblem carrying the API's error code, so the pages can say
// in plain words what to do next (i18n.js errorText).
//
// "Ingelogd blijven op dit apparaat": only then a device token is kept in localStorage
// (`device`). It is no key and no seed phrase: it only asks the API for a new sign-in
// (POST /auth/device), and the account page can revoke it, which ends it at once.

const KEY = "heitje.session";
const DEVICE = "heitje.device";

export class ApiProblem extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

/** A JSON value kept under `key` in `storage`; get() gives null when missing or unreadable. */
function kept(storage, key, valid = (value) => value !== null) {
  return {
    get() {
      try {
        const value = JSON.parse(storage.getItem(key) || "null");
        return valid(value) ? value : null;
      } catch {
        return null;
      }
    },
    save(value) {
      storage.setItem(key, JSON.stringify(value));
    },
    clear() {
      storage.removeItem(key);
    },
  };
}

/** This tab's sign-in (gone when the tab closes). */
export const session = kept(sessionStorage, KEY);

/** The device token of "stay signed in", with the name signed in with, or null. */
export const device = kept(localStorage, DEVICE, (value) => Boolean(value) && typeof value.token === "string");

/** Sign in again with this device's token; the session, or null (the token is then gone). */
export async function resumeDevice() {
  const kept = device.get();
  if (!kept) return null;
  let response;
  try {
    response = await fetch("/auth/device", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify({ device_token: kept.token }),
      credentials: "omit",
    });
  } catch {
    return null; // no connection: the token stays for the next visit
  }
  if (!response.ok) {
    if (response.status === 401) device.clear(); // revoked, expired or the password changed
    return null;
  }
  const answer = await response.json();
  const value = { token: answer.token, role: answer.role, user: answer.user_id, name: kept.name, device: true };
  session.save(value);
  return value;
}

let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function send(method, path, body, accept, retried = false) {
  const headers = { Accept: accept };
  const current = session.get();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload, credentials: "omit" });
  } catch {
    throw new ApiProblem(0, "network", "no connection");
  }
  if (response.ok) return response;
  let problem = {};
  try {
    problem = await response.json();
  } catch {
    problem = {};
  }
  const code = problem.error || `http_${response.status}`;
  if (response.status === 401 && current && (code === "bad_token" || code === "not_signed_in")) {
    // A sign-in from this device's token ends after some hours: get a new one, once.
    if (!retried && current.device && (await resumeDevice())) {
      return send(method, path, body, accept, true);
    }
    session.clear();
    onSignedOut(current.device && !device.get() ? "device_signed_out" : code);
  }
  throw new ApiProblem(response.status, code, problem.message, problem.details);
}

export async function api(method, path, body) {
  const response = await send(method, path, body, "application/json");
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const put = (path, body) => api("PUT", path, body);

/** A file answer (CSV, the SEPA XML, a photo) as a Blob, with its suggested file name. */
export async function download(path) {
  const response = await send("GET", path, undefined, "*/*");
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  return { blob: await response.blob(), name: match ? match[1] : "heitje" };
}

/** A query string from an object, leaving out empty values. */
export function qs(params) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
