/**
 * Calls to the hub API. Errors arrive as RFC 9457 problem+json; the `detail` is what the
 * user sees.
 */
import type { ProfileReport, QualityReport } from '../../src/protocol/reports.ts';
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

export interface Published<R> {
  siteId: string;
  generatedAt: string;
  receivedAt: string;
  report: R;
}

/** A site report, or null while the site has not published one. */
async function published<R>(path: string): Promise<Published<R> | null> {
  try {
    return await request<Published<R>>('GET', path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

export const api = {
  siteQuality: (id: string) => published<QualityReport>(`/api/sites/${encodeURIComponent(id)}/quality`),
  siteProfile: (id: string) => published<ProfileReport>(`/api/sites/${encodeURIComponent(id)}/profile`),
  health: () => request<Health>('GET', '/api/health'),
  me: () => request<{ user: User }>('GET', '/api/auth/me'),
  login: (email: string, password: string) =>
    request<{ user: User }>('POST', '/api/auth/login', { email, password }),
  logout: () => request<void>('POST', '/api/auth/logout'),
};
