/**
 * Small value types shared by Circe criteria: concept references, numeric/date ranges,
 * text filters, concept-set selections and periods (zod schemas and their types).
 */
import { z } from 'zod';

/** A concept as ATLAS embeds it: only the id matters, the rest is display metadata. */
export const ConceptRefSchema = z.looseObject({ CONCEPT_ID: z.number().int() });
export type ConceptRef = z.infer<typeof ConceptRefSchema>;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
export const IsoDateSchema = z.string().regex(ISO_DATE, 'expected a date YYYY-MM-DD');

export const RANGE_OPS = ['lt', 'lte', 'eq', '!eq', 'gt', 'gte', 'bt', '!bt'] as const;
export const NumericRangeSchema = z.strictObject({
  Value: z.number(),
  Op: z.enum(RANGE_OPS),
  Extent: z.number().nullish(),
});
export type NumericRange = z.infer<typeof NumericRangeSchema>;

export const DateRangeSchema = z.strictObject({
  Value: IsoDateSchema,
  Op: z.enum(RANGE_OPS),
  Extent: IsoDateSchema.nullish(),
});
export type DateRange = z.infer<typeof DateRangeSchema>;

export const TEXT_OPS = [
  'startsWith',
  'contains',
  'endsWith',
  '!startsWith',
  '!contains',
  '!endsWith',
  'eq',
  '!eq',
] as const;
export const TextFilterSchema = z.strictObject({ Text: z.string(), Op: z.enum(TEXT_OPS) });
export type TextFilter = z.infer<typeof TextFilterSchema>;

export const ConceptSetSelectionSchema = z.strictObject({
  CodesetId: z.number().int().nullish(),
  IsExclusion: z.boolean().nullish(),
});
export type ConceptSetSelection = z.infer<typeof ConceptSetSelectionSchema>;

export const PeriodSchema = z.strictObject({
  StartDate: IsoDateSchema.nullish(),
  EndDate: IsoDateSchema.nullish(),
});
export type Period = z.infer<typeof PeriodSchema>;
