/**
 * Signing in from tests over real HTTP. Every API test that acts as a user goes through
 * `signIn`, so what a state-changing request needs besides the cookie (a CSRF token)
 * is added in one place.
 */
export interface TestSession {
  /** The `cookie` request header value. */
  cookie: string;
  /** Headers for any request as this user (JSON content type included). */
  headers(extra?: Record<string, string>): Record<string, string>;
  /** `fetch` as this user; a body object is sent as JSON. */
  call(method: string, path: string, body?: unknown): Promise<Response>;
  /** Like `call`, but parses the JSON reply (undefined for 204). */
  json<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

export const DEMO_PASSWORD = 'itda-demo';

export async function signIn(baseUrl: string, email: string, password = DEMO_PASSWORD): Promise<TestSession> {
  const response = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) {
    throw new Error(`sign-in as ${email} failed: ${response.status} ${await response.text()}`);
  }
  const cookies = response.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const cookie = cookies.join('; ');
  // Double-submit: the readable itda_csrf cookie goes back in x-csrf-token.
  const csrf = cookies.find((c) => c.startsWith('itda_csrf='))?.slice('itda_csrf='.length);
  if (!csrf) throw new Error(`sign-in as ${email} set no itda_csrf cookie`);
  const headers = (extra: Record<string, string> = {}) => ({
    cookie,
    'content-type': 'application/json',
    'x-csrf-token': csrf,
    ...extra,
  });
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: headers(),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return {
    cookie,
    headers,
    call,
    async json<T>(method: string, path: string, body?: unknown) {
      const reply = await call(method, path, body);
      const text = await reply.text();
      return { status: reply.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
  };
}
