/**
 * Hub configuration: ITDA_* environment variables and CLI flags, validated once at
 * start. A wrong value stops the process with a message naming the variable.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseEnv } from '../protocol/env.ts';
import { ItdaError } from '../protocol/errors.ts';

/** PostgreSQL connections the hub keeps unless ITDA_DATABASE_POOL says otherwise. */
export const DEFAULT_POOL_SIZE = 20;

export interface HubConfig {
  host: string;
  port: number;
  /** Keys, uploads and (without ITDA_DATABASE_URL) the embedded database live here. */
  dataDir: string;
  /** PostgreSQL connection string; unset means embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** Most PostgreSQL connections the hub holds at once (ITDA_DATABASE_POOL). */
  databasePool: number;
  /** A site registering with this token is approved at once; others wait for the operator. */
  enrolmentToken: string | undefined;
  /** Folder of the built web app; unset or missing means the API runs without it. */
  webDist: string | undefined;
  logLevel: string;
  /** A site with no open poll that has not been seen for this long counts as offline. */
  siteOfflineAfterSeconds: number;
  /** Accounts created at start when absent (the demo uses it); never set in production. */
  seedDemoAccounts: boolean;
  /** OpenID Connect sign-in; unset means password sign-in only. */
  oidc: OidcConfig | undefined;
  /** Notification e-mail; unset means the in-app inbox only. */
  smtp: SmtpConfig | undefined;
}

export interface SmtpConfig {
  /** smtp://user:pass@host:port (or smtps:// for TLS from the start). */
  url: string;
  /** The From address of notification e-mail. */
  from: string;
}

export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** Unset for a public client (PKCE alone). */
  clientSecret: string | undefined;
  /** This hub's /api/auth/oidc/callback as registered at the issuer. */
  redirectUrl: string;
}

const envSchema = z.object({
  ITDA_HOST: z.string().min(1).default('127.0.0.1'),
  ITDA_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  ITDA_DATA_DIR: z.string().min(1).default('.itda/hub'),
  ITDA_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ITDA_DATABASE_POOL: z.coerce.number().int().min(2).max(500).default(DEFAULT_POOL_SIZE),
  ITDA_ENROLMENT_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ITDA_WEB_DIST: z.string().optional(),
  ITDA_SITE_OFFLINE_AFTER: z.coerce.number().int().min(1).max(3600).default(30),
  ITDA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ITDA_OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  ITDA_OIDC_CLIENT_ID: z.string().min(1).optional(),
  ITDA_OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  ITDA_OIDC_REDIRECT_URL: z.url({ protocol: /^https?$/ }).optional(),
  ITDA_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  ITDA_SMTP_FROM: z.email().optional(),
});

function smtpConfig(e: z.infer<typeof envSchema>): SmtpConfig | undefined {
  if (e.ITDA_SMTP_URL === undefined) return undefined;
  if (e.ITDA_SMTP_FROM === undefined)
    throw new ItdaError('validation_failed', 'ITDA_SMTP_FROM: required when ITDA_SMTP_URL is set');
  return { url: e.ITDA_SMTP_URL, from: e.ITDA_SMTP_FROM };
}

/** All of issuer, client id and redirect URL, or none of them. */
function oidcConfig(e: z.infer<typeof envSchema>): OidcConfig | undefined {
  const required = {
    ITDA_OIDC_ISSUER: e.ITDA_OIDC_ISSUER,
    ITDA_OIDC_CLIENT_ID: e.ITDA_OIDC_CLIENT_ID,
    ITDA_OIDC_REDIRECT_URL: e.ITDA_OIDC_REDIRECT_URL,
  };
  const missing = Object.entries(required).filter(([, value]) => value === undefined);
  if (missing.length === 3 && e.ITDA_OIDC_CLIENT_SECRET === undefined) return undefined;
  if (missing.length > 0)
    throw new ItdaError(
      'validation_failed',
      `${missing.map(([name]) => name).join(', ')}: required when OpenID Connect is configured`,
    );
  const issuer = new URL(e.ITDA_OIDC_ISSUER!);
  if (issuer.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname))
    throw new ItdaError(
      'validation_failed',
      'ITDA_OIDC_ISSUER: must be https:// (http:// only on this machine)',
    );
  return {
    issuer: e.ITDA_OIDC_ISSUER!,
    clientId: e.ITDA_OIDC_CLIENT_ID!,
    clientSecret: e.ITDA_OIDC_CLIENT_SECRET,
    redirectUrl: e.ITDA_OIDC_REDIRECT_URL!,
  };
}

export function loadHubConfig(
  env: NodeJS.ProcessEnv = process.env,
  flags: Partial<HubConfig> = {},
): HubConfig {
  const e = parseEnv(envSchema, env);
  return {
    host: flags.host ?? e.ITDA_HOST,
    port: flags.port ?? e.ITDA_PORT,
    dataDir: path.resolve(flags.dataDir ?? e.ITDA_DATA_DIR),
    databaseUrl: flags.databaseUrl ?? e.ITDA_DATABASE_URL,
    databasePool: flags.databasePool ?? e.ITDA_DATABASE_POOL,
    enrolmentToken: flags.enrolmentToken ?? e.ITDA_ENROLMENT_TOKEN,
    webDist: flags.webDist ?? e.ITDA_WEB_DIST,
    logLevel: flags.logLevel ?? e.ITDA_LOG_LEVEL,
    siteOfflineAfterSeconds: flags.siteOfflineAfterSeconds ?? e.ITDA_SITE_OFFLINE_AFTER,
    seedDemoAccounts: flags.seedDemoAccounts ?? false,
    oidc: flags.oidc ?? oidcConfig(e),
    smtp: flags.smtp ?? smtpConfig(e),
  };
}
