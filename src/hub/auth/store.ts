import { type Kysely, type Selectable, sql } from 'kysely';
import type { SiteRoleName } from '../../protocol/auth.ts';
import type {
  ApiKeyTable,
  AppUserTable,
  HubDatabase,
  OrganisationKind,
  OrganisationTable,
  UserSiteRoleTable,
} from '../db/schema.ts';

export type UserRow = Selectable<AppUserTable>;
export type OrganisationRow = Selectable<OrganisationTable>;
export type SiteRoleRow = Selectable<UserSiteRoleTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;

export function findUserByEmail(db: Kysely<HubDatabase>, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('app_user').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
}

export function findUserById(db: Kysely<HubDatabase>, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('app_user').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findUserByOidcSubject(
  db: Kysely<HubDatabase>,
  subject: string,
): Promise<UserRow | undefined> {
  return db.selectFrom('app_user').selectAll().where('oidc_subject', '=', subject).executeTakeFirst();
}

export function listUsers(db: Kysely<HubDatabase>): Promise<UserRow[]> {
  return db.selectFrom('app_user').selectAll().orderBy('email').execute();
}

export async function insertUser(
  db: Kysely<HubDatabase>,
  user: {
    id: string;
    email: string;
    name: string;
    passwordHash: string | null;
    roles: string[];
    organisationId?: string | null;
    oidcSubject?: string | null;
  },
): Promise<UserRow> {
  return db
    .insertInto('app_user')
    .values({
      id: user.id,
      email: user.email.toLowerCase(),
      name: user.name,
      password_hash: user.passwordHash,
      roles: JSON.stringify(user.roles),
      organisation_id: user.organisationId ?? null,
      oidc_subject: user.oidcSubject ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateUser(
  db: Kysely<HubDatabase>,
  id: string,
  change: {
    name?: string;
    roles?: string[];
    organisationId?: string | null;
    active?: boolean;
    passwordHash?: string;
    oidcSubject?: string;
  },
): Promise<UserRow | undefined> {
  return db
    .updateTable('app_user')
    .set({
      ...(change.name === undefined ? {} : { name: change.name }),
      ...(change.roles === undefined ? {} : { roles: JSON.stringify(change.roles) }),
      ...(change.organisationId === undefined ? {} : { organisation_id: change.organisationId }),
      ...(change.active === undefined ? {} : { active: change.active }),
      ...(change.passwordHash === undefined ? {} : { password_hash: change.passwordHash }),
      ...(change.oidcSubject === undefined ? {} : { oidc_subject: change.oidcSubject }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export function siteRolesOf(db: Kysely<HubDatabase>, userIds: readonly string[]): Promise<SiteRoleRow[]> {
  if (userIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('user_site_role')
    .selectAll()
    .where('user_id', 'in', userIds)
    .orderBy('site_id')
    .orderBy('role')
    .execute();
}

/** Replaces all of a user's site roles. */
export async function replaceSiteRoles(
  db: Kysely<HubDatabase>,
  userId: string,
  roles: readonly { siteId: string; role: 'steward' | 'drb_member' }[],
): Promise<void> {
  await db.deleteFrom('user_site_role').where('user_id', '=', userId).execute();
  if (roles.length === 0) return;
  await db
    .insertInto('user_site_role')
    .values(roles.map((r) => ({ user_id: userId, site_id: r.siteId, role: r.role })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function addSiteRole(
  db: Kysely<HubDatabase>,
  row: { userId: string; siteId: string; role: 'steward' | 'drb_member' },
): Promise<void> {
  await db
    .insertInto('user_site_role')
    .values({ user_id: row.userId, site_id: row.siteId, role: row.role })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export function listOrganisations(db: Kysely<HubDatabase>): Promise<OrganisationRow[]> {
  return db.selectFrom('organisation').selectAll().orderBy('id').execute();
}

export function findOrganisation(db: Kysely<HubDatabase>, id: string): Promise<OrganisationRow | undefined> {
  return db.selectFrom('organisation').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertOrganisation(
  db: Kysely<HubDatabase>,
  org: { id: string; nameKo: string; nameEn: string; kind: OrganisationKind },
): Promise<OrganisationRow | undefined> {
  return db
    .insertInto('organisation')
    .values({ id: org.id, name_ko: org.nameKo, name_en: org.nameEn, kind: org.kind })
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updateOrganisation(
  db: Kysely<HubDatabase>,
  id: string,
  change: { nameKo?: string; nameEn?: string; kind?: OrganisationKind },
): Promise<OrganisationRow | undefined> {
  return db
    .updateTable('organisation')
    .set({
      ...(change.nameKo === undefined ? {} : { name_ko: change.nameKo }),
      ...(change.nameEn === undefined ? {} : { name_en: change.nameEn }),
      ...(change.kind === undefined ? {} : { kind: change.kind }),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

export async function insertSession(
  db: Kysely<HubDatabase>,
  session: { tokenHash: string; userId: string; expiresAt: Date; csrfHash: string },
): Promise<void> {
  await db
    .insertInto('session')
    .values({
      token_hash: session.tokenHash,
      user_id: session.userId,
      expires_at: session.expiresAt,
      csrf_hash: session.csrfHash,
    })
    .execute();
}

type SiteRoleJson = { siteId: string; role: SiteRoleName }[];

/** The site roles of the `app_user` row in the same query, as JSON. */
const siteRolesOfUser = sql<SiteRoleJson>`coalesce((
  select json_agg(json_build_object('siteId', r.site_id, 'role', r.role) order by r.site_id, r.role)
  from user_site_role r where r.user_id = app_user.id), '[]'::json)`;

/** The sites on whose DRB the `app_user` row sits, in the same query, as JSON. */
const drbSitesOfUser = sql<string[]>`coalesce((
  select json_agg(m.site_id order by m.site_id)
  from drb_member m where m.user_id = app_user.id), '[]'::json)`;

/** A user with their site roles, in one query. */
export function findUserWithSiteRoles(
  db: Kysely<HubDatabase>,
  id: string,
): Promise<(UserRow & { site_roles: SiteRoleJson }) | undefined> {
  return db
    .selectFrom('app_user')
    .selectAll('app_user')
    .select(siteRolesOfUser.as('site_roles'))
    .where('id', '=', id)
    .executeTakeFirst();
}

/**
 * The active user of an unexpired session, with the session's CSRF hash, the user's site
 * roles and DRB seats — one query, since every signed-in request asks it.
 */
export function findSessionUser(
  db: Kysely<HubDatabase>,
  tokenHash: string,
  now: Date,
): Promise<
  | (UserRow & {
      csrf_hash: string | null;
      site_roles: { siteId: string; role: SiteRoleName }[];
      drb_sites: string[];
    })
  | undefined
> {
  return db
    .selectFrom('session')
    .innerJoin('app_user', 'app_user.id', 'session.user_id')
    .selectAll('app_user')
    .select('session.csrf_hash')
    .select(siteRolesOfUser.as('site_roles'))
    .select(drbSitesOfUser.as('drb_sites'))
    .where('session.token_hash', '=', tokenHash)
    .where('session.expires_at', '>', now)
    .where('app_user.active', '=', true)
    .executeTakeFirst();
}

/** Ends a session; returns whose it was (undefined when there was none). */
export async function deleteSession(db: Kysely<HubDatabase>, tokenHash: string): Promise<string | undefined> {
  const row = await db
    .deleteFrom('session')
    .where('token_hash', '=', tokenHash)
    .returning('user_id')
    .executeTakeFirst();
  return row?.user_id;
}

export async function deleteSessionsOf(db: Kysely<HubDatabase>, userId: string): Promise<number> {
  const result = await db.deleteFrom('session').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function insertApiKey(
  db: Kysely<HubDatabase>,
  key: {
    id: string;
    userId: string;
    name: string;
    secretHash: string;
    scopes: readonly string[];
    expiresAt: Date | null;
  },
): Promise<ApiKeyRow> {
  return db
    .insertInto('api_key')
    .values({
      id: key.id,
      user_id: key.userId,
      name: key.name,
      secret_hash: key.secretHash,
      scopes: JSON.stringify(key.scopes),
      expires_at: key.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findApiKey(db: Kysely<HubDatabase>, id: string): Promise<ApiKeyRow | undefined> {
  return db.selectFrom('api_key').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listApiKeys(db: Kysely<HubDatabase>, userId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_key')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .execute();
}

export async function revokeApiKey(
  db: Kysely<HubDatabase>,
  id: string,
  userId: string,
  at: Date,
): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_key')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, ${at})` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
}

export async function touchApiKey(db: Kysely<HubDatabase>, id: string, at: Date): Promise<void> {
  await db.updateTable('api_key').set({ last_used_at: at }).where('id', '=', id).execute();
}

export async function recordLoginFailure(
  db: Kysely<HubDatabase>,
  failure: { email: string; ip: string; at: Date },
): Promise<void> {
  await db.insertInto('login_failure').values(failure).execute();
}

/** Failures since `since` for the account at this address, the account anywhere and the address. */
export async function countLoginFailures(
  db: Kysely<HubDatabase>,
  email: string,
  ip: string,
  since: Date,
): Promise<{
  accountAtIp: { count: number; oldest: Date | null };
  account: { count: number; oldest: Date | null };
  ip: { count: number; oldest: Date | null };
}> {
  const window = (where: 'account_ip' | 'account' | 'ip') =>
    db
      .selectFrom('login_failure')
      .select([sql<string>`count(*)`.as('n'), sql<Date | null>`min(at)`.as('oldest')])
      .where('at', '>', since)
      .$if(where !== 'ip', (q) => q.where('email', '=', email))
      .$if(where !== 'account', (q) => q.where('ip', '=', ip))
      .executeTakeFirstOrThrow()
      .then((r) => ({ count: Number(r.n), oldest: r.oldest ? new Date(r.oldest) : null }));
  const [accountAtIp, account, byIp] = await Promise.all([
    window('account_ip'),
    window('account'),
    window('ip'),
  ]);
  return { accountAtIp, account, ip: byIp };
}

export async function clearLoginFailures(db: Kysely<HubDatabase>, email: string, ip: string): Promise<void> {
  await db.deleteFrom('login_failure').where('email', '=', email).where('ip', '=', ip).execute();
}

export async function pruneLoginFailures(db: Kysely<HubDatabase>, before: Date): Promise<void> {
  await db.deleteFrom('login_failure').where('at', '<', before).execute();
}
