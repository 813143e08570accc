// The JSON API, with the bearer token from sessionStorage (gone when the tab closes).
// Every failure becomes an ApiProblem carrying the API's error code, so the pages can say
// in plain words what to do next (i18n.js errorText).

const KEY = "heitje.session";

export class ApiProblem extends Error {
  constructor(status, code, message, details) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch {
      return null;
    }
  },
  save(value) {
    sessionStorage.setItem(KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

let onSignedOut = () => {};
export function whenSignedOut(callback) {
  onSignedOut = callback;
}

async function send(method, path, body, accept) {
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
    session.clear();
    onSignedOut(code);
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
