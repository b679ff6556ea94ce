import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubContext } from '../context.ts';
import { chainPendingAudit, listAudit, verifyAuditLog } from './service.ts';

const auditEntrySchema = z.object({
  seq: z.number(),
  at: z.string(),
  actorType: z.string(),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
  signature: z.string(),
});

const verdictSchema = z.union([
  z.object({ ok: z.literal(true), entries: z.number(), headHash: z.string() }),
  z.object({
    ok: z.literal(false),
    entries: z.number(),
    firstBadSeq: z.number(),
    position: z.number(),
    reason: z.string(),
  }),
]);

export function auditRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/audit', {
    config: { access: { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' } },
    schema: {
      tags: ['audit'],
      summary: 'Audit log entries in sequence order',
      querystring: z.object({
        afterSeq: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        targetType: z.string().optional(),
        targetId: z.string().optional(),
        action: z.string().optional(),
        actorId: z.string().optional(),
      }),
      response: { 200: z.object({ entries: z.array(auditEntrySchema) }) },
    },
    handler: async (request) => ({ entries: await listAudit(ctx, request.query) }),
  });

  r.post('/api/audit/verify', {
    config: { access: { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' } },
    schema: {
      tags: ['audit'],
      summary: 'Chain the pending entries, then verify the whole hash chain; names the first bad entry',
      response: { 200: verdictSchema },
    },
    handler: async () => {
      await chainPendingAudit(ctx.db, ctx.keys.privateKey);
      return verifyAuditLog(ctx.db, ctx.keys.publicKey);
    },
  });
}
