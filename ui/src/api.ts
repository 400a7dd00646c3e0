// The one door to the server: every read of the UI goes through get() to the REST API.
export const TOKEN_KEY = "lineal.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint: string | null = null,
  ) {
    super(message);
  }
}

/** Raised on 401: the app goes to its login page. */
export class Unauthorized extends ApiError {}

type Query = Record<string, string | number | boolean | null | undefined | string[]>;

export function queryString(query: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value)) value.forEach((one) => params.append(key, one));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

declare global {
  interface Window {
    /** Reads sent by index.html's script before the app loaded, by address. */
    __linealEarly?: Record<string, Promise<Response>>;
    /** The bodies of those of them answered (2xx) and parsed already, by address. */
    __linealParsed?: Record<string, unknown>;
  }
}

function started(url: string): Promise<Response> | undefined {
  const early = typeof window === "undefined" ? undefined : window.__linealEarly;
  const found = early?.[url];
  if (found) delete early![url];
  return found;
}

/** The bodies of reads of project ``project`` that index.html's script sent, when every one of
 * them is answered (2xx) and parsed already (else undefined), taken once: the app's first render
 * can draw them. (The reads themselves stay there for request() to take.) */
export function answeredEarly(project: string, asks: { path: string; query: Query }[]): unknown[] | undefined {
  const parsed = typeof window === "undefined" ? undefined : window.__linealParsed;
  const urls = asks.map(({ path, query }) => `/api/v1/projects/${encodeURIComponent(project)}/${path}${queryString(query)}`);
  if (!parsed || !urls.length || !urls.every((url) => url in parsed)) return undefined;
  const bodies = urls.map((url) => parsed[url]);
  urls.forEach((url) => delete parsed[url]);
  return bodies;
}

export interface Answer<T> {
  body: T;
  headers: Headers;
}

export async function request<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<Answer<T>> {
  const headers: Record<string, string> = { accept: "application/json" };
  const held = token();
  if (held) headers.authorization = `Bearer ${held}`;
  const url = `/api/v1${path}${queryString(query)}`;
  // A read index.html already sent for the page opened by address: taken once (a failed one is
  // sent again).
  const early = started(url);
  const response = await (early ? early.catch(() => fetch(url, { headers, signal })) : fetch(url, { headers, signal }));
  const type = response.headers.get("content-type") ?? "";
  const body: unknown = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = (body ?? {}) as { error?: string; hint?: string | null };
    const message = error.error ?? `${response.status} ${response.statusText}`;
    if (response.status === 401) {
      onUnauthorized();
      throw new Unauthorized(401, message, error.hint ?? null);
    }
    throw new ApiError(response.status, message, error.hint ?? null);
  }
  return { body: body as T, headers: response.headers };
}

export async function get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
  return (await request<T>(path, query, signal)).body;
}

/** A read of project ``project``: ``/projects/{project}/{path}``. */
export function read<T>(project: string, path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
  return get<T>(`/projects/${encodeURIComponent(project)}/${path}`, query, signal);
}
