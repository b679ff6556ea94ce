/**
 * The operator's account administration: organisations, users, their global and per-site
 * roles, and deactivation (which ends the user's sessions and stops their API keys).
 * Every change is appended to the audit log in the same transaction as the change.
 */
import type { Kysely } from 'kysely';
import type { Organisation, OrganisationKind, Role, SiteRole } from '../../protocol/auth.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { hashPassword, insertNewUser, type PublicUser, publicUser, publicUsers } from './service.ts';
import {
  deleteSessionsOf,
  findOrganisation,
  insertOrganisation,
  listOrganisations,
  listUsers,
  type OrganisationRow,
  replaceSiteRoles,
  updateOrganisation,
  updateUser,
} from './store.ts';

function organisationView(row: OrganisationRow): Organisation {
  return { id: row.id, nameKo: row.name_ko, nameEn: row.name_en, kind: row.kind };
}

export async function organisations(ctx: HubContext): Promise<Organisation[]> {
  return (await listOrganisations(ctx.db)).map(organisationView);
}

export async function createOrganisation(
  ctx: HubContext,
  actor: PublicUser,
  input: Organisation,
): Promise<Organisation> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await insertOrganisation(trx, input);
    if (!row) throw new ItdaError('conflict', `organisation ${input.id} exists`);
    await audit(
      ctx,
      adminEvent(actor, 'admin.organisation_created', 'organisation', row.id, { ...input }),
      trx,
    );
    return organisationView(row);
  });
}

export async function changeOrganisation(
  ctx: HubContext,
  actor: PublicUser,
  id: string,
  change: { nameKo?: string; nameEn?: string; kind?: OrganisationKind },
): Promise<Organisation> {
  return ctx.db.transaction().execute(async (trx) => {
    const row = await updateOrganisation(trx, id, change);
    if (!row) throw new ItdaError('not_found', `no organisation ${id}`);
    await audit(ctx, adminEvent(actor, 'admin.organisation_updated', 'organisation', id, { ...change }), trx);
    return organisationView(row);
  });
}

export async function users(ctx: HubContext): Promise<PublicUser[]> {
  return publicUsers(ctx.db, await listUsers(ctx.db));
}

export interface NewUserInput {
  email: string;
  name: string;
  /** Unset for accounts that sign in only through OpenID Connect. */
  password?: string;
  roles: Role[];
  organisationId?: string | null;
  siteRoles?: SiteRole[];
}

export async function adminCreateUser(
  ctx: HubContext,
  actor: PublicUser,
  input: NewUserInput,
): Promise<PublicUser> {
  await requireOrganisation(ctx.db, input.organisationId ?? null);
  await requireSites(ctx.db, input.siteRoles ?? []);
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  return ctx.db.transaction().execute(async (trx) => {
    const row = await insertNewUser(trx, { ...input, passwordHash });
    if (input.siteRoles?.length) await replaceSiteRoles(trx, row.id, input.siteRoles);
    await audit(
      ctx,
      adminEvent(actor, 'admin.user_created', 'user', row.id, {
        email: row.email,
        roles: input.roles,
        organisationId: input.organisationId ?? null,
        siteRoles: input.siteRoles ?? [],
      }),
      trx,
    );
    return publicUser(trx, row);
  });
}

export interface UserChange {
  name?: string;
  password?: string;
  roles?: Role[];
  organisationId?: string | null;
  siteRoles?: SiteRole[];
  active?: boolean;
}

/**
 * Changes a user. Deactivating ends every session of the user at once (API keys stop
 * working too: they need an active owner). An admin cannot deactivate themself or drop
 * their own admin role, so the hub is never left without an operator by accident.
 */
export async function adminUpdateUser(
  ctx: HubContext,
  actor: PublicUser,
  id: string,
  change: UserChange,
): Promise<PublicUser> {
  if (id === actor.id && (change.active === false || (change.roles && !change.roles.includes('admin'))))
    throw new ItdaError('conflict', 'you cannot deactivate yourself or remove your own admin role');
  if (change.organisationId !== undefined) await requireOrganisation(ctx.db, change.organisationId);
  if (change.siteRoles) await requireSites(ctx.db, change.siteRoles);
  const passwordHash = change.password === undefined ? undefined : await hashPassword(change.password);
  return ctx.db.transaction().execute(async (trx) => {
    const row = await updateUser(trx, id, {
      ...(change.name === undefined ? {} : { name: change.name }),
      ...(change.roles === undefined ? {} : { roles: change.roles }),
      ...(change.organisationId === undefined ? {} : { organisationId: change.organisationId }),
      ...(change.active === undefined ? {} : { active: change.active }),
      ...(passwordHash === undefined ? {} : { passwordHash }),
    });
    if (!row) throw new ItdaError('not_found', `no user ${id}`);
    if (change.siteRoles) await replaceSiteRoles(trx, id, change.siteRoles);
    const endedSessions =
      change.active === false || passwordHash !== undefined ? await deleteSessionsOf(trx, id) : 0;
    const { password: _password, ...recorded } = change;
    await audit(
      ctx,
      adminEvent(
        actor,
        change.active === false ? 'admin.user_deactivated' : 'admin.user_updated',
        'user',
        id,
        {
          ...recorded,
          ...(passwordHash === undefined ? {} : { passwordChanged: true }),
          ...(endedSessions > 0 ? { endedSessions } : {}),
        },
      ),
      trx,
    );
    return publicUser(trx, row);
  });
}

function adminEvent(
  actor: PublicUser,
  action: string,
  targetType: string,
  targetId: string,
  details: Record<string, unknown>,
) {
  return { actorType: 'user' as const, actorId: actor.id, action, targetType, targetId, details };
}

async function requireOrganisation(db: Kysely<HubDatabase>, id: string | null): Promise<void> {
  if (id !== null && !(await findOrganisation(db, id)))
    throw new ItdaError('validation_failed', `organisationId: no organisation ${id}`);
}

/** Site roles name registered sites, so a typo does not grant a role nobody can use. */
async function requireSites(db: Kysely<HubDatabase>, roles: readonly SiteRole[]): Promise<void> {
  const ids = [...new Set(roles.map((r) => r.siteId))];
  if (ids.length === 0) return;
  const known = new Set(
    (await db.selectFrom('site').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
  );
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0)
    throw new ItdaError('validation_failed', `siteRoles: no site ${unknown.join(', ')}`);
}
