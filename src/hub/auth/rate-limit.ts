/**
 * Login rate limiting: a sliding window of failed sign-ins kept in the hub database, so
 * the limit holds across hub processes and restarts (OWASP Authentication Cheat Sheet:
 * throttle per account and per source address).
 */
import { ItdaError } from '../../protocol/errors.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import { clearLoginFailures, countLoginFailures, pruneLoginFailures, recordLoginFailure } from './store.ts';

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Failures allowed inside the window before sign-in is refused. */
export const LOGIN_LIMITS = {
  /** One account from one address: the usual password-guessing case. */
  accountAtIp: 5,
  /** One account from anywhere: guessing spread over many addresses. */
  account: 20,
  /** One address against any accounts: spraying one password over many accounts. */
  ip: 50,
} as const;

/** Refuses with `rate_limited` (429, Retry-After) while any window is full. */
export async function checkLoginRate(ctx: HubContext, email: string, ip: string): Promise<void> {
  const now = Date.now();
  const counts = await countLoginFailures(ctx.db, email, ip, new Date(now - LOGIN_WINDOW_MS));
  const full = (Object.keys(LOGIN_LIMITS) as (keyof typeof LOGIN_LIMITS)[]).filter(
    (k) => counts[k].count >= LOGIN_LIMITS[k],
  );
  if (full.length === 0) return;
  // The window frees a slot when its oldest failure leaves it.
  const retryAfterSeconds = Math.max(
    1,
    ...full.map((k) => Math.ceil(((counts[k].oldest?.getTime() ?? now) + LOGIN_WINDOW_MS - now) / 1000)),
  );
  await audit(ctx, {
    actorType: 'user',
    actorId: null,
    action: 'auth.login_rate_limited',
    details: { email, ip, limits: full },
  });
  throw new ItdaError('rate_limited', `too many failed sign-ins; try again in ${retryAfterSeconds} s`, {
    retryAfterSeconds,
  });
}

export async function recordFailedLogin(ctx: HubContext, email: string, ip: string): Promise<void> {
  await recordLoginFailure(ctx.db, { email, ip, at: new Date() });
}

/** A correct password clears the account's failures from that address. */
export async function recordSuccessfulLogin(ctx: HubContext, email: string, ip: string): Promise<void> {
  await clearLoginFailures(ctx.db, email, ip);
}

/** Drops failures older than the window (called periodically by the hub). */
export function pruneOldLoginFailures(ctx: HubContext): Promise<void> {
  return pruneLoginFailures(ctx.db, new Date(Date.now() - LOGIN_WINDOW_MS));
}
