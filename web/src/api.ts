/**
 * Calls to the hub API. Errors arrive as RFC 9457 problem+json; the `detail` is what the
 * user sees.
 */
import type { CatalogPage, Dataset, DatasetInputRaw, DatasetVersion } from '../../src/protocol/catalog.ts';
import {
  FEASIBILITY_PATHS,
  type FeasibilityQueryList,
  type FeasibilityQueryView,
  type FeasibilityRequest,
  feasibilityQueryPath,
} from '../../src/protocol/feasibility.ts';
import type { ProfileReport, QualityReport } from '../../src/protocol/reports.ts';
import type { Health } from '../../src/protocol/wire.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  roles: string[];
  organisationId: string | null;
  siteRoles: { siteId: string; role: 'steward' | 'drb_member' }[];
  active: boolean;
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

/** The session's CSRF token: the readable `itda_csrf` cookie the hub set at sign-in. */
export function csrfToken(): string | undefined {
  const cookie = document.cookie.split('; ').find((c) => c.startsWith('itda_csrf='));
  return cookie ? decodeURIComponent(cookie.slice('itda_csrf='.length)) : undefined;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  // State-changing requests echo the CSRF token (double-submit); reads need none.
  const csrf = method === 'GET' || method === 'HEAD' ? undefined : csrfToken();
  if (csrf) headers['x-csrf-token'] = csrf;
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers,
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
  oidcStatus: () => request<{ enabled: boolean }>('GET', '/api/auth/oidc'),
  submitFeasibility: (query: FeasibilityRequest) =>
    request<FeasibilityQueryView>('POST', FEASIBILITY_PATHS.queries, query),
  feasibilityQuery: (id: string, waitSeconds: number) =>
    request<FeasibilityQueryView>('GET', `${feasibilityQueryPath(id)}?wait=${waitSeconds}`),
  feasibilityHistory: () => request<FeasibilityQueryList>('GET', FEASIBILITY_PATHS.queries),
  searchConcepts,
};

/** A concept found in the hub's vocabulary copy (the fields of `GET /api/concepts` the builder shows). */
export interface ConceptHit {
  conceptId: number;
  name: string;
  vocabularyId: string;
  code: string;
}

/**
 * Standard-concept search for the cohort builder (`GET /api/concepts`); null when the hub
 * has no concept search, so the builder falls back to concept ids typed in.
 */
async function searchConcepts(q: string, domain: string): Promise<ConceptHit[] | null> {
  try {
    const reply = await request<{ concepts: ConceptHit[] }>(
      'GET',
      `/api/concepts?${new URLSearchParams({ q, domain, standard: 'true', limit: '10' })}`,
    );
    return reply.concepts;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** The catalog (`/api/catalog`): search, a dataset with its history, a steward's create and edit. */
export const catalogApi = {
  search: (params: Record<string, string>) =>
    request<CatalogPage>('GET', `/api/catalog?${new URLSearchParams(params)}`),
  dataset: (id: string) => request<Dataset>('GET', `/api/catalog/${encodeURIComponent(id)}`),
  history: (id: string) =>
    request<{ versions: DatasetVersion[] }>('GET', `/api/catalog/${encodeURIComponent(id)}/versions`),
  create: (dataset: DatasetInputRaw) => request<Dataset>('POST', '/api/catalog', dataset),
  update: (id: string, baseVersion: number, dataset: DatasetInputRaw) =>
    request<Dataset>('PUT', `/api/catalog/${encodeURIComponent(id)}`, { baseVersion, dataset }),
};
