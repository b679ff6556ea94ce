/**
 * Hub ↔ site wire types. These zod schemas are the single source: they validate on
 * both ends, give the TypeScript types, and feed the hub's OpenAPI document.
 */
import { z } from 'zod';
import { feasibilityTaskPayloadSchema } from './feasibility.ts';
import { signedPermitSchema } from './permit.ts';

export const siteIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'site id: 2–63 characters, lower-case letters, digits and dashes');

export const siteRegistrationSchema = z.object({
  name: z.string().min(1).max(200),
  publicKey: z.string().min(40).max(200),
  enrolmentToken: z.string().max(200).optional(),
  software: z.string().max(100),
});
export type SiteRegistration = z.infer<typeof siteRegistrationSchema>;

export const siteStatusSchema = z.enum(['pending', 'approved', 'suspended']);
export type SiteStatus = z.infer<typeof siteStatusSchema>;

export const registrationReplySchema = z.object({
  siteId: siteIdSchema,
  status: siteStatusSchema,
  hubPublicKey: z.string(),
});
export type RegistrationReply = z.infer<typeof registrationReplySchema>;

export const pingTaskSchema = z.object({
  type: z.literal('ping'),
  payload: z.object({ message: z.string().max(200).default('ping') }),
});

/** A federated feasibility count: the site runs the Circe definition and answers aggregates. */
export const feasibilityTaskSchema = z.object({
  type: z.literal('feasibility'),
  payload: feasibilityTaskPayloadSchema,
});

/** An exact cohort count with attrition, run only under a permit (counts 1–9 still leave as "<10"). */
export const cohortCountTaskSchema = z.object({
  type: z.literal('cohort_count'),
  payload: z.object({
    /** OHDSI Circe JSON; its canonical SHA-256 must equal the permit's cohort hash. */
    cohort: z.record(z.string(), z.unknown()),
  }),
});

/** Every task type a site understands; later capabilities add members here. */
export const taskKindSchema = z.discriminatedUnion('type', [
  pingTaskSchema,
  feasibilityTaskSchema,
  cohortCountTaskSchema,
]);
export type TaskKind = z.infer<typeof taskKindSchema>;
export type TaskType = TaskKind['type'];

export const taskBodySchema = z.intersection(
  taskKindSchema,
  z.object({
    id: z.string().uuid(),
    siteId: siteIdSchema,
    /** The permit the task runs under; null for tasks that need none (ping, feasibility). */
    permitId: z.string().nullable(),
    /** The hub-signed permit named by permitId; the site verifies it itself. */
    permit: signedPermitSchema.optional(),
    issuedAt: z.string().datetime(),
    expiresAt: z.string().datetime(),
  }),
);
export type TaskBody = z.infer<typeof taskBodySchema>;

export const signedTaskSchema = z.object({
  body: taskBodySchema,
  signature: z.string(),
  keyId: z.string(),
});
export type SignedTask = z.infer<typeof signedTaskSchema>;

export const taskPollReplySchema = z.object({
  tasks: z.array(signedTaskSchema),
  /** Ids of revoked permits that name this site; the site keeps them and refuses their tasks. */
  revokedPermitIds: z.array(z.string()).optional(),
});
export type TaskPollReply = z.infer<typeof taskPollReplySchema>;

export const taskOutcomeSchema = z.enum(['done', 'refused', 'failed']);
export type TaskOutcome = z.infer<typeof taskOutcomeSchema>;

export const taskResultSchema = z.object({
  outcome: taskOutcomeSchema,
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

export const pingResultSchema = z.object({
  pong: z.literal(true),
  message: z.string(),
  siteTime: z.string(),
});

export const healthSiteSchema = z.object({
  id: siteIdSchema,
  name: z.string(),
  status: siteStatusSchema,
  connected: z.boolean(),
  lastSeenAt: z.string().datetime().nullable(),
});

export const healthSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  database: z.enum(['pglite', 'postgres']),
  sites: z.array(healthSiteSchema),
});
export type Health = z.infer<typeof healthSchema>;
export type HealthSite = z.infer<typeof healthSiteSchema>;
