// The API client: the token lives in sessionStorage and travels only in the Authorization header.

const KEY = "deconflict.token";

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

export class Unauthorized extends Error {}

/** A refusal the API explained (a problem document): `detail`, and `field` when one input is to blame. */
export class Problem extends Error {
  constructor(status, body) {
    super(body.detail ?? `HTTP ${status}`);
    this.status = status;
    this.field = body.field ?? null;
  }

  /** "state: the operation cannot be activated yet: …" */
  get text() {
    return this.field && !this.message.startsWith(`${this.field}:`) ? `${this.field}: ${this.message}` : this.message;
  }
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${session.token}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  if (response.status === 401) throw new Unauthorized(path);
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Problem(response.status, problem);
  }
  return response.json();
}

export const get = (path) => call("GET", path);
export const post = (path, body = {}) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);
