/**
 * Calls to the hub API. Errors arrive as RFC 9457 problem+json; the `detail` is what the
 * user sees.
 */
import type { Health } from '../../src/protocol/wire.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  roles: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => undefined)) as
    | { detail?: string; title?: string; code?: string }
    | undefined;
  if (!response.ok) {
    throw new ApiError(
      response.status,
      payload?.detail ?? payload?.title ?? response.statusText,
      payload?.code,
    );
  }
  return payload as T;
}

export const api = {
  health: () => request<Health>('GET', '/api/health'),
  me: () => request<{ user: User }>('GET', '/api/auth/me'),
  login: (email: string, password: string) =>
    request<{ user: User }>('POST', '/api/auth/login', { email, password }),
  logout: () => request<void>('POST', '/api/auth/logout'),
};
