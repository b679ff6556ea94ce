/**
 * HTTP of the access workflow: applications, attachments, DRBs, reviews and votes,
 * permits. Each route parses with zod, declares its access rule and calls one service
 * function; who may do what to which record is decided in service.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import '../http/request-context.ts';
import {
  applicationDraftSchema,
  applicationSummarySchema,
  applicationViewSchema,
  attachmentViewSchema,
  drbConfigSchema,
  drbViewSchema,
  permitViewSchema,
  reviewViewSchema,
  voteInputSchema,
} from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { feasibilityQueryViewSchema } from '../../protocol/feasibility.ts';
import { siteIdSchema } from '../../protocol/wire.ts';
import type { HubContext } from '../context.ts';
import { taskViewSchema } from '../jobs/routes.ts';
import { applicationHistory } from './history.ts';
import {
  castVote,
  chooseJointReview,
  closeApplication,
  configureDrb,
  createApplication,
  downloadAttachment,
  getApplication,
  getApplicationFeasibility,
  getDrb,
  getPermit,
  getReview,
  listApplicationsFor,
  listSiteReviews,
  MAX_ATTACHMENT_BYTES,
  resubmitApplication,
  returnApplication,
  revokePermit,
  runPermittedTask,
  submitApplication,
  updateDraft,
  uploadAttachment,
} from './service.ts';

// Roles gate the door; ownership (applicant, the site's DRB, …) is checked in the service.
const applicant = {
  kind: 'user',
  roles: ['researcher', 'admin'],
  owner: 'application',
  scope: 'applications:write',
} as const;
const applicationReader = {
  kind: 'user',
  roles: [],
  owner: 'application',
  scope: 'applications:read',
} as const;
/** Closing changes state: an API key needs the write scope, though an admin (no researcher role) may close too. */
const applicationCloser = {
  kind: 'user',
  roles: [],
  owner: 'application',
  scope: 'applications:write',
} as const;
/** DRB membership lives in the site's DRB configuration, so any signed-in user may try; the service decides. */
const reviewer = { kind: 'user', roles: [], owner: 'site', scope: 'reviews:write' } as const;
const siteReader = { kind: 'user', roles: [], owner: 'site', scope: 'applications:read' } as const;
const drbAdmin = { kind: 'user', roles: ['admin', 'steward'], owner: 'site', scope: 'admin' } as const;

const idParams = z.object({ id: z.uuid() });

export function accessRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/applications', {
    config: { access: applicant },
    schema: {
      tags: ['access'],
      summary: 'Start a research application (a draft)',
      body: applicationDraftSchema,
      response: { 201: applicationViewSchema },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await createApplication(ctx, request.user!, request.body)),
  });

  r.get('/api/applications', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: 'Applications I applied for or review',
      response: { 200: z.object({ applications: z.array(applicationSummarySchema) }) },
    },
    handler: async (request) => ({ applications: await listApplicationsFor(ctx, request.user!) }),
  });

  r.get('/api/applications/:id', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: 'An application with its attachments, reviews and permits',
      params: idParams,
      response: { 200: applicationViewSchema },
    },
    handler: (request) => getApplication(ctx, request.user!, request.params.id),
  });

  r.get('/api/applications/:id/feasibility', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: "The linked feasibility query's per-site counts and attrition, as the sites disclosed them",
      params: idParams,
      response: { 200: feasibilityQueryViewSchema },
    },
    handler: (request) => getApplicationFeasibility(ctx, request.user!, request.params.id),
  });

  r.get('/api/applications/:id/history', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: "An application's timeline from the audit log (creation, edits, uploads, state changes)",
      params: idParams,
    },
    handler: async (request) => ({
      events: await applicationHistory(ctx, request.user!, request.params.id),
    }),
  });

  r.patch('/api/applications/:id', {
    config: { access: applicant },
    schema: {
      tags: ['access'],
      summary: 'Save part of a draft (autosave); only the fields sent change',
      params: idParams,
      body: applicationDraftSchema,
      response: { 200: applicationViewSchema },
    },
    handler: (request) => updateDraft(ctx, request.user!, request.params.id, request.body),
  });

  r.post('/api/applications/:id/submit', {
    config: { access: applicant },
    schema: {
      tags: ['access'],
      summary: 'Submit: every requested site’s DRB gets a review',
      params: idParams,
      response: { 200: applicationViewSchema },
    },
    handler: (request) => submitApplication(ctx, request.user!, request.params.id),
  });

  r.post('/api/applications/:id/resubmit', {
    config: { access: applicant },
    schema: {
      tags: ['access'],
      summary: 'Resubmit a returned application (a new review round)',
      params: idParams,
      response: { 200: applicationViewSchema },
    },
    handler: (request) => resubmitApplication(ctx, request.user!, request.params.id),
  });

  r.post('/api/applications/:id/return', {
    config: { access: reviewer },
    schema: {
      tags: ['access'],
      summary: 'Return an application to the applicant for changes (a DRB member of a requested site)',
      params: idParams,
      body: z.strictObject({ comment: z.string().trim().min(1).max(10_000) }),
      response: { 200: applicationViewSchema },
    },
    handler: (request) => returnApplication(ctx, request.user!, request.params.id, request.body.comment),
  });

  r.post('/api/applications/:id/close', {
    config: { access: applicationCloser },
    schema: {
      tags: ['access'],
      summary: 'Close a decided application, or withdraw a draft',
      params: idParams,
      response: { 200: applicationViewSchema },
    },
    handler: (request) => closeApplication(ctx, request.user!, request.params.id),
  });

  // Uploads take the raw bytes (any content type) in their own scope; the type is checked by content.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_ATTACHMENT_BYTES },
      (_request, body, done) => done(null, body),
    );
    scope.withTypeProvider<ZodTypeProvider>().post('/api/applications/:id/attachments', {
      config: { access: applicant },
      bodyLimit: MAX_ATTACHMENT_BYTES,
      schema: {
        tags: ['access'],
        summary: 'Upload an attachment (raw body; PDF, PNG, JPEG, plain text or DOCX; at most 20 MB)',
        params: idParams,
        querystring: z.object({
          kind: z.enum(['irb_approval', 'data_management_plan', 'other']),
          name: z.string().min(1).max(255),
        }),
        response: { 201: attachmentViewSchema },
      },
      handler: async (request, reply) => {
        if (!Buffer.isBuffer(request.body))
          throw new ItdaError('validation_failed', 'send the file as the request body');
        const attachment = await uploadAttachment(ctx, request.user!, request.params.id, {
          kind: request.query.kind,
          fileName: request.query.name,
          contentType: request.headers['content-type'] ?? '',
          bytes: request.body,
        });
        return reply.code(201).send(attachment);
      },
    });
  });

  r.get('/api/applications/:id/attachments/:attachmentId', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: 'Download an attachment; its bytes are checked against the stored SHA-256 first',
      params: z.object({ id: z.uuid(), attachmentId: z.uuid() }),
    },
    handler: async (request, reply) => {
      const { attachment, bytes } = await downloadAttachment(
        ctx,
        request.user!,
        request.params.id,
        request.params.attachmentId,
      );
      return reply
        .type(attachment.mediaType)
        .header(
          'content-disposition',
          `attachment; filename*=UTF-8''${encodeURIComponent(attachment.fileName)}`,
        )
        .header('repr-digest', `sha-256=:${Buffer.from(attachment.sha256, 'hex').toString('base64')}:`)
        .send(bytes);
    },
  });

  r.put('/api/sites/:id/drb', {
    config: { access: drbAdmin },
    schema: {
      tags: ['access'],
      summary: "Configure a site's DRB (at least 5 members, at least 2 external; quorum ≥ a majority)",
      params: z.object({ id: siteIdSchema }),
      body: drbConfigSchema,
      response: { 200: drbViewSchema },
    },
    handler: (request) => configureDrb(ctx, request.user!, request.params.id, request.body),
  });

  r.get('/api/sites/:id/drb', {
    config: { access: siteReader },
    schema: {
      tags: ['access'],
      summary: "A site's DRB: members and quorum",
      params: z.object({ id: siteIdSchema }),
      response: { 200: drbViewSchema },
    },
    handler: (request) => getDrb(ctx, request.params.id),
  });

  r.get('/api/sites/:id/reviews', {
    config: { access: siteReader },
    schema: {
      tags: ['access'],
      summary: "A site's review inbox, newest first (its DRB members, stewards and admins)",
      params: z.object({ id: siteIdSchema }),
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }),
      response: { 200: z.object({ reviews: z.array(reviewViewSchema) }) },
    },
    handler: async (request) => ({
      reviews: await listSiteReviews(ctx, request.user!, request.params.id, request.query.limit),
    }),
  });

  r.get('/api/reviews/:id', {
    config: { access: siteReader },
    schema: {
      tags: ['access'],
      summary: 'A review with its votes, DUO check and the application',
      params: idParams,
      response: { 200: reviewViewSchema.extend({ application: applicationViewSchema }) },
    },
    handler: (request) => getReview(ctx, request.user!, request.params.id),
  });

  r.post('/api/reviews/:id/votes', {
    config: { access: reviewer },
    schema: {
      tags: ['access'],
      summary: 'Vote on a review (a member of the site’s DRB; once per round)',
      params: idParams,
      body: voteInputSchema,
      response: { 200: reviewViewSchema },
    },
    handler: (request) => castVote(ctx, request.user!, request.params.id, request.body),
  });

  r.post('/api/reviews/:id/joint', {
    config: { access: reviewer },
    schema: {
      tags: ['access'],
      summary: "Joint review: accept the lead DRB's decision, or opt out and review here",
      params: idParams,
      body: z.strictObject({ choice: z.enum(['accepted', 'opted_out']) }),
      response: { 200: reviewViewSchema },
    },
    handler: (request) => chooseJointReview(ctx, request.user!, request.params.id, request.body.choice),
  });

  r.get('/api/permits/:id', {
    config: { access: applicationReader },
    schema: {
      tags: ['access'],
      summary: 'A permit, its signature and status',
      params: idParams,
      response: { 200: permitViewSchema },
    },
    handler: (request) => getPermit(ctx, request.user!, request.params.id),
  });

  r.post('/api/permits/:id/revoke', {
    config: { access: reviewer },
    schema: {
      tags: ['access'],
      summary:
        "Revoke a permit (admin, or a member of a permitted site's DRB); sites learn it on their next poll",
      params: idParams,
      body: z.strictObject({ reason: z.string().trim().min(1).max(2000) }),
      response: { 200: permitViewSchema },
    },
    handler: (request) => revokePermit(ctx, request.user!, request.params.id, request.body.reason),
  });

  r.post('/api/permits/:id/tasks', {
    config: { access: applicant },
    schema: {
      tags: ['access'],
      summary: "Run a permitted analysis at the permit's sites (each task carries the signed permit)",
      params: idParams,
      body: z.strictObject({
        type: z.literal('cohort_count'),
        siteIds: z.array(siteIdSchema).min(1).optional(),
      }),
      response: { 200: z.object({ tasks: z.array(taskViewSchema) }) },
    },
    handler: async (request) => ({
      tasks: await runPermittedTask(ctx, request.user!, request.params.id, request.body),
    }),
  });
}
