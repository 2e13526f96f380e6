// SPDX-License-Identifier: Apache-2.0
// The dashboard's only way to the server: GET requests with the read token in the
// Authorization header (SPEC 11: kept in sessionStorage, never in a URL), errors turned
// into ApiError with the SPEC 9 code and message, and a 401 or 403 sent to the sign-in
// screen through onAuthError.

const KEY = "tradetrail.token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let authHandler = () => {};

export function onAuthError(fn) {
  authHandler = fn;
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

async function request(path, { signal, accept, tokenOverride } = {}) {
  const t = tokenOverride ?? token();
  const headers = { Accept: accept || "application/json" };
  if (t) headers.Authorization = `Bearer ${t}`;
  let resp;
  try {
    resp = await fetch(path, { headers, signal, cache: "no-store", credentials: "omit" });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "the server did not answer (is tradetrail serve running?)");
  }
  if (resp.ok) return resp;
  let code = "internal";
  let message = `${resp.status} ${resp.statusText}`;
  try {
    const j = await resp.json();
    code = j.error.code;
    message = j.error.message;
  } catch {
    /* not the SPEC 9 body: keep the status line */
  }
  const err = new ApiError(resp.status, code, message);
  if ((resp.status === 401 || resp.status === 403) && !tokenOverride) authHandler(err);
  throw err;
}

export async function getJSON(path, opts) {
  return (await request(path, opts)).json();
}

// The body as text, for verification: the leaf hash covers the exact metadata bytes.
export async function getText(path, opts) {
  return (await request(path, opts)).text();
}

export { request };
