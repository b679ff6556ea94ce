/**
 * Site node configuration from ITDA_* variables and CLI flags, validated at start.
 */
import path from 'node:path';
import { z } from 'zod';
import { type DisclosurePolicy, disclosurePolicy } from '../privacy/disclosure.ts';
import { parseEnv } from '../protocol/env.ts';
import { siteIdSchema } from '../protocol/wire.ts';

export interface SiteConfig {
  /** The site's own directory: keys, DuckDB store, quarantine, logs. */
  dir: string;
  hubUrl: string;
  siteId: string;
  siteName: string;
  enrolmentToken: string | undefined;
  /** PostgreSQL URL of the OMOP store; unset means DuckDB at DIR/omop.duckdb. */
  storeUrl: string | undefined;
  cdmSchema: string;
  /** The CDM schema is an existing OMOP database Itda only reads (ITDA_SITE_EXISTING_CDM). */
  existingCdm: boolean;
  /** Most memory the DuckDB store may use, as DuckDB writes it (`2GB`); unset is DuckDB's own default. */
  memoryLimit: string | undefined;
  /** Long-poll wait, seconds. */
  pollWaitSeconds: number;
  logLevel: string;
  /** Disclosure control applied before any aggregate leaves (the steward may only raise it). */
  disclosure: DisclosurePolicy;
}

const envSchema = z.object({
  ITDA_HUB_URL: z.url().default('http://127.0.0.1:8080'),
  ITDA_SITE_ID: siteIdSchema.optional(),
  ITDA_SITE_NAME: z.string().min(1).optional(),
  ITDA_ENROLMENT_TOKEN: z.string().optional(),
  ITDA_SITE_STORE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ITDA_CDM_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a plain lower-case SQL identifier')
    .default('cdm'),
  ITDA_SITE_EXISTING_CDM: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  ITDA_SITE_MEMORY_LIMIT: z
    .string()
    .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'must be a size such as 512MB or 4GB')
    .optional(),
  ITDA_POLL_WAIT: z.coerce.number().int().min(1).max(60).default(30),
  ITDA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // The steward's disclosure thresholds (raise-only; checked by siteDisclosurePolicy).
  ITDA_MIN_CELL_COUNT: z.coerce.number().optional(),
  ITDA_FEASIBILITY_ROUNDING: z.coerce.number().optional(),
  ITDA_MIN_ROWS_MOMENTS: z.coerce.number().optional(),
  ITDA_GLM_ROWS_PER_PARAMETER: z.coerce.number().optional(),
  ITDA_MIN_ROWS_MODEL_UPDATE: z.coerce.number().optional(),
});

const disclosureEnv = envSchema.pick({
  ITDA_MIN_CELL_COUNT: true,
  ITDA_FEASIBILITY_ROUNDING: true,
  ITDA_MIN_ROWS_MOMENTS: true,
  ITDA_GLM_ROWS_PER_PARAMETER: true,
  ITDA_MIN_ROWS_MODEL_UPDATE: true,
});

function siteDisclosurePolicy(e: z.infer<typeof disclosureEnv>): DisclosurePolicy {
  return disclosurePolicy(
    {
      minCellCount: e.ITDA_MIN_CELL_COUNT,
      rounding: e.ITDA_FEASIBILITY_ROUNDING,
      minRowsForMoments: e.ITDA_MIN_ROWS_MOMENTS,
      glmRowsPerParameter: e.ITDA_GLM_ROWS_PER_PARAMETER,
      minRowsForModelUpdate: e.ITDA_MIN_ROWS_MODEL_UPDATE,
    },
    {
      minCellCount: 'ITDA_MIN_CELL_COUNT',
      rounding: 'ITDA_FEASIBILITY_ROUNDING',
      minRowsForMoments: 'ITDA_MIN_ROWS_MOMENTS',
      glmRowsPerParameter: 'ITDA_GLM_ROWS_PER_PARAMETER',
      minRowsForModelUpdate: 'ITDA_MIN_ROWS_MODEL_UPDATE',
    },
  );
}

/** The steward's disclosure thresholds alone: for commands that publish or print aggregates. */
export function loadSiteDisclosure(env: NodeJS.ProcessEnv = process.env): DisclosurePolicy {
  return siteDisclosurePolicy(parseEnv(disclosureEnv, env));
}

/** Just where the site's OMOP store is: for commands that touch the store, not the hub. */
export function loadSiteStoreConfig(
  env: NodeJS.ProcessEnv = process.env,
): Pick<SiteConfig, 'storeUrl' | 'cdmSchema' | 'existingCdm' | 'memoryLimit'> {
  const e = parseEnv(
    envSchema.pick({
      ITDA_SITE_STORE_URL: true,
      ITDA_CDM_SCHEMA: true,
      ITDA_SITE_EXISTING_CDM: true,
      ITDA_SITE_MEMORY_LIMIT: true,
    }),
    env,
  );
  return {
    storeUrl: e.ITDA_SITE_STORE_URL,
    cdmSchema: e.ITDA_CDM_SCHEMA,
    existingCdm: e.ITDA_SITE_EXISTING_CDM,
    memoryLimit: e.ITDA_SITE_MEMORY_LIMIT,
  };
}

export function loadSiteConfig(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  flags: Partial<Omit<SiteConfig, 'dir'>> = {},
): SiteConfig {
  const e = parseEnv(envSchema, env);
  const absolute = path.resolve(dir);
  const defaultId = path
    .basename(absolute)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const siteId = siteIdSchema.parse(flags.siteId ?? e.ITDA_SITE_ID ?? defaultId);
  return {
    dir: absolute,
    hubUrl: (flags.hubUrl ?? e.ITDA_HUB_URL).replace(/\/+$/, ''),
    siteId,
    siteName: flags.siteName ?? e.ITDA_SITE_NAME ?? siteId,
    enrolmentToken: flags.enrolmentToken ?? e.ITDA_ENROLMENT_TOKEN,
    storeUrl: flags.storeUrl ?? e.ITDA_SITE_STORE_URL,
    cdmSchema: flags.cdmSchema ?? e.ITDA_CDM_SCHEMA,
    existingCdm: flags.existingCdm ?? e.ITDA_SITE_EXISTING_CDM,
    memoryLimit: flags.memoryLimit ?? e.ITDA_SITE_MEMORY_LIMIT,
    pollWaitSeconds: flags.pollWaitSeconds ?? e.ITDA_POLL_WAIT,
    logLevel: flags.logLevel ?? e.ITDA_LOG_LEVEL,
    disclosure: flags.disclosure ?? siteDisclosurePolicy(e),
  };
}
