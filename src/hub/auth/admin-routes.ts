import type { FastifyInstance } from 'fastify';
import '../http/request-context.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  ORGANISATION_KINDS,
  organisationIdSchema,
  organisationSchema,
  publicUserSchema,
  ROLES,
  siteRoleSchema,
} from '../../protocol/auth.ts';
import type { HubContext } from '../context.ts';
import type { UserAccess } from '../http/access.ts';
import {
  adminCreateUser,
  adminUpdateUser,
  changeOrganisation,
  createOrganisation,
  organisations,
  users,
} from './admin.ts';

const ADMIN: UserAccess = { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' };
const userIdParams = z.object({ id: z.uuid() });
const userReply = z.object({ user: publicUserSchema });
const organisationReply = z.object({ organisation: organisationSchema });
const email = z.email().max(320);
const password = z.string().min(8).max(1000);

export function adminRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/organisations', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['admin'],
      summary: 'Organisations on the platform (hospitals, companies, universities, the operator)',
      response: { 200: z.object({ organisations: z.array(organisationSchema) }) },
    },
    handler: async () => ({ organisations: await organisations(ctx) }),
  });

  r.post('/api/admin/organisations', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary: 'Create an organisation',
      body: organisationSchema,
      response: { 201: organisationReply },
    },
    handler: async (request, reply) =>
      reply.code(201).send({ organisation: await createOrganisation(ctx, request.user!, request.body) }),
  });

  r.patch('/api/admin/organisations/:id', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary: "Change an organisation's names or kind",
      params: z.object({ id: organisationIdSchema }),
      body: z.object({
        nameKo: z.string().min(1).max(200).optional(),
        nameEn: z.string().min(1).max(200).optional(),
        kind: z.enum(ORGANISATION_KINDS).optional(),
      }),
      response: { 200: organisationReply },
    },
    handler: async (request) => ({
      organisation: await changeOrganisation(ctx, request.user!, request.params.id, request.body),
    }),
  });

  r.get('/api/admin/users', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary: 'Every account with its roles, organisation and site roles',
      response: { 200: z.object({ users: z.array(publicUserSchema) }) },
    },
    handler: async () => ({ users: await users(ctx) }),
  });

  r.post('/api/admin/users', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary: 'Create an account (without a password it can sign in only through OpenID Connect)',
      body: z.object({
        email,
        name: z.string().trim().min(1).max(200),
        password: password.optional(),
        roles: z.array(z.enum(ROLES)).default([]),
        organisationId: organisationIdSchema.nullable().optional(),
        siteRoles: z.array(siteRoleSchema).optional(),
      }),
      response: { 201: userReply },
    },
    handler: async (request, reply) =>
      reply.code(201).send({ user: await adminCreateUser(ctx, request.user!, request.body) }),
  });

  r.patch('/api/admin/users/:id', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary:
        'Change an account: name, password, roles, organisation, site roles, active (false ends its sessions)',
      params: userIdParams,
      body: z.object({
        name: z.string().trim().min(1).max(200).optional(),
        password: password.optional(),
        roles: z.array(z.enum(ROLES)).optional(),
        organisationId: organisationIdSchema.nullable().optional(),
        siteRoles: z.array(siteRoleSchema).optional(),
        active: z.boolean().optional(),
      }),
      response: { 200: userReply },
    },
    handler: async (request) => ({
      user: await adminUpdateUser(ctx, request.user!, request.params.id, request.body),
    }),
  });

  r.post('/api/admin/users/:id/deactivate', {
    config: { access: ADMIN },
    schema: {
      tags: ['admin'],
      summary: 'Deactivate an account: its sessions end and its API keys stop working',
      params: userIdParams,
      response: { 200: userReply },
    },
    handler: async (request) => ({
      user: await adminUpdateUser(ctx, request.user!, request.params.id, { active: false }),
    }),
  });
}
