/**
 * The permit: what a DRB approval lets a researcher run at which sites, until when.
 * The hub signs it (protocol/signing.ts signValue); every site verifies it on every
 * permitted task. Kept apart from access.ts so wire.ts can carry it without a cycle.
 */
import { z } from 'zod';

export const ANALYSIS_MODES = ['federated_analysis', 'federated_learning', 'safe_zone_extract'] as const;
export type AnalysisMode = (typeof ANALYSIS_MODES)[number];

/** The body of a permit, signed by the hub's Ed25519 key (protocol/signing.ts signValue). */
export const permitBodySchema = z.strictObject({
  kind: z.literal('itda-permit/1'),
  permitId: z.uuid(),
  applicationId: z.uuid(),
  /** Hub user ids of the researchers the permit names. */
  researchers: z.array(z.string()).min(1),
  sites: z.array(z.string().min(1)).min(1),
  datasets: z.array(z.string()),
  cohortHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Site task types the permit allows (see TASKS_BY_ANALYSIS_MODE). */
  allowedAnalyses: z.array(z.string()).min(1),
  analysisMode: z.enum(ANALYSIS_MODES),
  /** Conditions set by the DRBs, per site. */
  conditions: z.array(z.strictObject({ siteId: z.string().min(1), condition: z.string() })),
  issuedAt: z.iso.datetime(),
  notBefore: z.iso.datetime(),
  notAfter: z.iso.datetime(),
});
export type PermitBody = z.infer<typeof permitBodySchema>;

export const signedPermitSchema = z.object({
  body: permitBodySchema,
  signature: z.string(),
  keyId: z.string(),
});
export type SignedPermit = z.infer<typeof signedPermitSchema>;
