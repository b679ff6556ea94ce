/**
 * Accounts, organisations and API keys as the hub's API presents them. The web app and
 * the CLI take these types from here; the hub validates and documents with them.
 */
import { z } from 'zod';

/** Global roles an account can hold. `steward` and `drb_member` are also held per site. */
export const ROLES = ['researcher', 'steward', 'drb_member', 'irb_officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles held for one site: its data steward, or a member of its Data Review Board. */
export const SITE_ROLES = ['steward', 'drb_member'] as const;
export type SiteRoleName = (typeof SITE_ROLES)[number];

export const ORGANISATION_KINDS = ['hospital', 'company', 'university', 'operator'] as const;
export type OrganisationKind = (typeof ORGANISATION_KINDS)[number];

/**
 * What an API key may do. A route names the scope it needs; a key without it is refused
 * (403), and a route that names none cannot be called with a key at all.
 */
export const API_SCOPES = [
  'catalog:read',
  'catalog:write',
  'feasibility:run',
  'applications:read',
  'applications:write',
  'reviews:write',
  'admin',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

export const siteRoleSchema = z.object({
  siteId: z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  role: z.enum(SITE_ROLES),
});
export type SiteRole = z.infer<typeof siteRoleSchema>;

export const publicUserSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  roles: z.array(z.enum(ROLES)),
  organisationId: z.string().nullable(),
  siteRoles: z.array(siteRoleSchema),
  active: z.boolean(),
  /** The sites on whose DRB the user sits (given for the signed-in user). */
  drbSiteIds: z.array(z.string()).optional(),
});

export const organisationIdSchema = z
  .string()
  .min(2)
  .max(63)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');

export const organisationSchema = z.object({
  id: organisationIdSchema,
  nameKo: z.string().min(1).max(200),
  nameEn: z.string().min(1).max(200),
  kind: z.enum(ORGANISATION_KINDS),
});
export type Organisation = z.infer<typeof organisationSchema>;

export const apiKeyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.enum(API_SCOPES)),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});
export type ApiKeyView = z.infer<typeof apiKeyViewSchema>;
