/**
 * Calls to the hub's account API: the signed-in user's API keys, and the operator's
 * organisations and users. Types come from src/protocol/auth.ts, never copies.
 */
import type { ApiKeyView, ApiScope, Organisation, Role, SiteRole } from '../../src/protocol/auth.ts';
import { request, type User } from './api.ts';

export interface UserChange {
  name?: string;
  password?: string;
  roles?: Role[];
  organisationId?: string | null;
  siteRoles?: SiteRole[];
  active?: boolean;
}

export const accountApi = {
  apiKeys: () => request<{ keys: ApiKeyView[] }>('GET', '/api/auth/keys'),
  createApiKey: (input: { name: string; scopes: ApiScope[]; expiresAt: string | null }) =>
    request<{ key: ApiKeyView; token: string }>('POST', '/api/auth/keys', input),
  revokeApiKey: (id: string) =>
    request<{ key: ApiKeyView }>('DELETE', `/api/auth/keys/${encodeURIComponent(id)}`),
  organisations: () => request<{ organisations: Organisation[] }>('GET', '/api/organisations'),
  createOrganisation: (input: Organisation) =>
    request<{ organisation: Organisation }>('POST', '/api/admin/organisations', input),
  updateOrganisation: (id: string, change: Partial<Omit<Organisation, 'id'>>) =>
    request<{ organisation: Organisation }>(
      'PATCH',
      `/api/admin/organisations/${encodeURIComponent(id)}`,
      change,
    ),
  users: () => request<{ users: User[] }>('GET', '/api/admin/users'),
  createUser: (input: {
    email: string;
    name: string;
    password?: string;
    roles: Role[];
    organisationId: string | null;
    siteRoles: SiteRole[];
  }) => request<{ user: User }>('POST', '/api/admin/users', input),
  updateUser: (id: string, change: UserChange) =>
    request<{ user: User }>('PATCH', `/api/admin/users/${encodeURIComponent(id)}`, change),
  deactivateUser: (id: string) =>
    request<{ user: User }>('POST', `/api/admin/users/${encodeURIComponent(id)}/deactivate`),
};
