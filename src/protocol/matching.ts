/**
 * Demand/supply matching (수요-공급 매칭): what a data need says, and what the hub
 * answers — ranked datasets with the per-criterion breakdown of their score, and the
 * stewards' responses. The web app takes these types from here.
 */
import { z } from 'zod';
import { modalitySchema } from './catalog.ts';
import { intendedUseSchema } from './duo.ts';

const bilingual = (max: number) =>
  z.object({ ko: z.string().trim().min(1).max(max), en: z.string().trim().min(1).max(max) });
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD');

export const needInputSchema = z.strictObject({
  title: bilingual(300),
  description: bilingual(10_000),
  /** Wanted modalities; empty means any. */
  modalities: z.array(modalitySchema).max(10).default([]),
  /** OMOP condition concept ids the data must cover. */
  conditionConceptIds: z.array(z.number().int().positive()).max(50).default([]),
  /** Individuals needed (per requested condition, and in the dataset). */
  minIndividuals: z.number().int().min(1).max(1_000_000_000).nullable().default(null),
  /** The period the data should cover. */
  period: z
    .object({ start: isoDate, end: isoDate })
    .refine((p) => p.start <= p.end, { message: 'start must not be after end' })
    .nullable()
    .default(null),
  intendedUse: intendedUseSchema,
  /** Stewards respond until this day (inclusive). */
  deadline: isoDate.nullable().default(null),
});
export type NeedInput = z.infer<typeof needInputSchema>;
export type NeedInputRaw = z.input<typeof needInputSchema>;

export const NEED_STATES = ['open', 'matched', 'closed'] as const;
export type NeedState = (typeof NEED_STATES)[number];

export const NEED_RESPONSES = ['interested', 'not_interested', 'need_more_info'] as const;
export type NeedResponseKind = (typeof NEED_RESPONSES)[number];

export const needResponseInputSchema = z.strictObject({
  siteId: z.string().min(1).max(63),
  response: z.enum(NEED_RESPONSES),
  message: z.string().trim().max(5000).default(''),
});
export type NeedResponseInput = z.infer<typeof needResponseInputSchema>;

const criterion = { score: z.number(), weight: z.number() };

export const scoreBreakdownSchema = z.object({
  /** Share of the wanted modalities the dataset has. */
  modality: z.object({ ...criterion, matched: z.array(z.string()) }),
  /** Share of the wanted conditions the site's profile counts with enough persons. */
  conditions: z.object({
    ...criterion,
    enough: z.array(z.number()),
    /** Absent, suppressed ("<10") or fewer than needed. */
    notEnough: z.array(z.number()),
  }),
  /** Individuals over the minimum, capped at 1. */
  size: z.object({ ...criterion, individuals: z.number().nullable() }),
  /** Share of the wanted period the dataset's temporal coverage overlaps. */
  temporal: z.object({ ...criterion, overlapDays: z.number() }),
  /** DUO check of the dataset's allowed uses against the intended use. */
  duo: z.object({ ...criterion, status: z.enum(['compatible', 'needs_review', 'conflict']) }),
});
export type ScoreBreakdown = z.infer<typeof scoreBreakdownSchema>;

export const matchViewSchema = z.object({
  rank: z.number().int(),
  datasetId: z.string(),
  siteId: z.string(),
  siteName: z.string(),
  datasetTitle: z.object({ ko: z.string(), en: z.string() }),
  score: z.number(),
  /** At or above the match threshold and no DUO conflict: the site's stewards see the need. */
  matched: z.boolean(),
  breakdown: scoreBreakdownSchema,
});
export type MatchView = z.infer<typeof matchViewSchema>;

export const needResponseViewSchema = z.object({
  siteId: z.string(),
  responderId: z.string(),
  response: z.enum(NEED_RESPONSES),
  message: z.string(),
  respondedAt: z.string(),
});
export type NeedResponseView = z.infer<typeof needResponseViewSchema>;

export const needViewSchema = z.object({
  id: z.string(),
  posterId: z.string(),
  state: z.enum(NEED_STATES),
  need: needInputSchema,
  applicationId: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Best first. A steward sees only the matches of their own sites. */
  matches: z.array(matchViewSchema),
  responses: z.array(needResponseViewSchema),
});
export type NeedView = z.infer<typeof needViewSchema>;

export const needSummarySchema = z.object({
  id: z.string(),
  title: z.object({ ko: z.string(), en: z.string() }),
  state: z.enum(NEED_STATES),
  posterId: z.string(),
  deadline: z.string().nullable(),
  createdAt: z.string(),
  /** Matched sites the caller may see. */
  matchedSites: z.array(z.string()),
});
export type NeedSummary = z.infer<typeof needSummarySchema>;
