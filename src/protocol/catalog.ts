/**
 * What a catalog entry says about a dataset, modelled on HealthDCAT-AP (the health
 * extension of DCAT-AP): bilingual title and description, publisher site, themes,
 * modalities, coding systems, sizes, age range, temporal coverage, access rights and the
 * allowed uses as GA4GH DUO terms. These zod schemas validate the API and type the web app.
 */
import { z } from 'zod';
import { DUO_TERMS, duoCodeOfId } from './duo.ts';
import { siteIdSchema } from './wire.ts';

export const MODALITIES = [
  'ehr',
  'imaging',
  'ecg_waveform',
  'genomics',
  'lifelog_wearable',
  'clinical_notes',
] as const;
export const modalitySchema = z.enum(MODALITIES);
export type Modality = z.infer<typeof modalitySchema>;

export const ACCESS_RIGHTS = ['PUBLIC', 'RESTRICTED', 'NON_PUBLIC'] as const;
export const accessRightsSchema = z.enum(ACCESS_RIGHTS);

const bilingual = (max: number) =>
  z.object({ ko: z.string().trim().min(1).max(max), en: z.string().trim().min(1).max(max) });

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

export const allowedUseSchema = z
  .object({
    /** A DUO term id, e.g. DUO:0000042 (GRU). */
    code: z.string().refine((code) => duoCodeOfId(code) !== undefined, {
      message: `a DUO term id such as DUO:0000042; known: ${Object.entries(DUO_TERMS)
        .map(([code, term]) => `${term.id} ${code}`)
        .join(', ')}`,
    }),
    /** For DS (DUO:0000007): the disease, e.g. "MONDO:0005148" or "OMOP:201826". */
    disease: z.string().trim().min(1).max(200).optional(),
  })
  .refine((use) => duoCodeOfId(use.code) !== 'DS' || use.disease, {
    message: 'DS (DUO:0000007) needs the disease it is restricted to',
    path: ['disease'],
  });
export type AllowedUse = z.infer<typeof allowedUseSchema>;

export const datasetInputSchema = z
  .object({
    siteId: siteIdSchema,
    title: bilingual(300),
    description: bilingual(10_000),
    themes: z.array(z.string().trim().min(1).max(100)).max(30).default([]),
    modalities: z.array(modalitySchema).min(1).max(MODALITIES.length),
    codingSystems: z.array(z.string().trim().min(1).max(50)).max(30).default([]),
    numberOfRecords: z.number().int().min(0).nullable().default(null),
    numberOfIndividuals: z.number().int().min(0).nullable().default(null),
    ageRange: z
      .object({ min: z.number().int().min(0).max(150), max: z.number().int().min(0).max(150) })
      .refine((r) => r.min <= r.max, { message: 'min must not exceed max' })
      .nullable()
      .default(null),
    temporalCoverage: z
      .object({ start: isoDate, end: isoDate })
      .refine((t) => t.start <= t.end, { message: 'start must not be after end' })
      .nullable()
      .default(null),
    accessRights: accessRightsSchema,
    allowedUses: z.array(allowedUseSchema).max(Object.keys(DUO_TERMS).length).default([]),
    contact: z.object({ name: z.string().trim().min(1).max(200), email: z.email() }),
  })
  .refine((d) => new Set(d.allowedUses.map((u) => u.code)).size === d.allowedUses.length, {
    message: 'each DUO term at most once',
    path: ['allowedUses'],
  });
export type DatasetInput = z.infer<typeof datasetInputSchema>;
export type DatasetInputRaw = z.input<typeof datasetInputSchema>;

/** An edit names the version it started from, so two stewards cannot overwrite each other. */
export const datasetUpdateSchema = z.object({
  baseVersion: z.number().int().min(1),
  dataset: datasetInputSchema,
});

const reportLink = { href: z.string(), generatedAt: z.string(), receivedAt: z.string() };

export const datasetSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  siteName: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  dataset: datasetInputSchema,
  /** The site's latest published reports, linked rather than copied into the entry. */
  quality: z.object({ ...reportLink, percentPassed: z.number().nullable() }).nullable(),
  profile: z.object({ ...reportLink, persons: z.union([z.number(), z.string()]).nullable() }).nullable(),
});
export type Dataset = z.infer<typeof datasetSchema>;

export const datasetVersionSchema = z.object({
  datasetId: z.string(),
  version: z.number().int(),
  editedBy: z.string(),
  editedAt: z.string(),
  dataset: datasetInputSchema,
});
export type DatasetVersion = z.infer<typeof datasetVersionSchema>;

export const CATALOG_SORTS = ['relevance', 'title', 'updated', 'individuals'] as const;

export const catalogQuerySchema = z.object({
  q: z.string().max(200).optional(),
  modality: modalitySchema.optional(),
  siteId: siteIdSchema.optional(),
  accessRights: accessRightsSchema.optional(),
  /** A DUO term id the dataset allows. */
  duo: z.string().max(20).optional(),
  /** An OMOP condition concept id present in the publishing site's profile. */
  conditionConceptId: z.coerce.number().int().positive().optional(),
  sort: z.enum(CATALOG_SORTS).optional(),
  /** Which title "title" sorts by. */
  lang: z.enum(['ko', 'en']).default('en'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});
export type CatalogQuery = z.infer<typeof catalogQuerySchema>;

export const catalogHitSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  siteId: z.string(),
  siteName: z.string(),
  title: z.object({ ko: z.string(), en: z.string() }),
  description: z.object({ ko: z.string(), en: z.string() }),
  modalities: z.array(modalitySchema),
  accessRights: accessRightsSchema,
  allowedUses: z.array(z.string()),
  numberOfIndividuals: z.number().nullable(),
  updatedAt: z.string(),
  /** Matched query grams weighted by field (title counts thrice), per query gram; null without q. */
  score: z.number().nullable(),
});
export type CatalogHit = z.infer<typeof catalogHitSchema>;

export const catalogPageSchema = z.object({
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
  hits: z.array(catalogHitSchema),
});
export type CatalogPage = z.infer<typeof catalogPageSchema>;
