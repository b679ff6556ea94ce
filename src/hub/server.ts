/**
 * The hub: one Fastify server carrying the API (OpenAPI at /api/docs), the site
 * protocol endpoints and the built web app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import pino from 'pino';
import { ItdaError } from '../protocol/errors.ts';
import { accessRoutes } from './access/routes.ts';
import { auditRoutes } from './audit/routes.ts';
import { chainPendingAudit, closeAudit } from './audit/service.ts';
import { seedDemoAccounts } from './auth/demo-accounts.ts';
import { authenticateUserRequest, refuseCrossSite } from './auth/guard.ts';
import { pruneOldLoginFailures } from './auth/rate-limit.ts';
import { authRoutes } from './auth/routes.ts';
import { beaconRoutes } from './beacon/routes.ts';
import { catalogRoutes } from './catalog/routes.ts';
import type { HubConfig } from './config.ts';
import type { HubContext } from './context.ts';
import { openHubDatabase } from './db/database.ts';
import { feasibilityRoutes } from './feasibility/routes.ts';
import { healthRoutes } from './health/routes.ts';
import { type DeclaredRoute, installAccessControl } from './http/access.ts';
import { installProblemHandler } from './http/problem.ts';
import { TaskNotifier } from './jobs/notifier.ts';
import { jobRoutes } from './jobs/routes.ts';
import { loadOrCreateHubKeys } from './keys.ts';
import { matchingRoutes } from './matching/routes.ts';
import { notificationRoutes } from './notifications/routes.ts';
import { signedCall, siteRoutes } from './sites/routes.ts';
import { authenticateSite, pruneNonces } from './sites/service.ts';
import { HUB_VERSION } from './version.ts';

export interface Hub {
  app: FastifyInstance;
  ctx: HubContext;
  routes: DeclaredRoute[];
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const BODY_LIMIT = 10 * 1024 * 1024;
const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));

export async function createHub(config: HubConfig, logger?: pino.Logger): Promise<Hub> {
  const log = logger ?? pino({ level: config.logLevel, name: 'hub' });
  const [database, keys] = await Promise.all([
    openHubDatabase({
      dataDir: config.dataDir,
      ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      poolSize: config.databasePool,
      onIdleError: (error) =>
        log.warn({ err: error.message }, 'idle database connection lost; it will be replaced'),
    }),
    loadOrCreateHubKeys(config.dataDir),
  ]);
  const shutdown = new AbortController();
  const ctx: HubContext = {
    db: database.db,
    databaseKind: database.kind,
    keys,
    config,
    log,
    tasks: new TaskNotifier(),
    activePolls: new Map(),
    shutdown: shutdown.signal,
  };
  // Entries a stopped hub left unchained go onto the chain before anything new.
  await chainPendingAudit(ctx.db, keys.privateKey);
  if (config.seedDemoAccounts) await seedDemoAccounts(ctx);

  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandler(app);

  // Keep the raw body: site signatures cover the exact bytes sent.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ItdaError('bad_request', 'request body is not valid JSON'), undefined);
    }
  });

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Itda API',
        version: HUB_VERSION,
        description: 'Itda (잇다) hub: catalog, feasibility, access workflow and the hub ↔ site protocol.',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  const routes = installAccessControl(app, {
    async site(request) {
      request.site = await authenticateSite(ctx, signedCall(request));
    },
    async siteEnrolment() {
      // registerSite verifies the signature against the key in the body.
    },
    user: (request, access) => authenticateUserRequest(ctx, request, access),
    async publicWrite(request) {
      refuseCrossSite(request);
    },
  });

  healthRoutes(app, ctx);
  authRoutes(app, ctx);
  siteRoutes(app, ctx);
  jobRoutes(app, ctx);
  auditRoutes(app, ctx);
  accessRoutes(app, ctx);
  catalogRoutes(app, ctx);
  feasibilityRoutes(app, ctx);
  beaconRoutes(app, ctx);
  matchingRoutes(app, ctx);
  notificationRoutes(app, ctx);

  const webDist = config.webDist ?? DEFAULT_WEB_DIST;
  if (fs.existsSync(path.join(webDist, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDist, wildcard: false });
    // Client-side routes (/login, /sites/x) get the app; unknown /api paths stay 404.
    app.get('/*', { config: { access: { kind: 'public' } }, schema: { hide: true } }, (request, reply) => {
      if (request.url.startsWith('/api/'))
        throw new ItdaError('not_found', `no route ${request.method} ${request.url}`);
      return reply.sendFile('index.html');
    });
  } else {
    log.warn({ webDist }, 'web app not built; serving the API only (npm run build:web)');
  }

  const pruner = setInterval(() => {
    pruneNonces(ctx).catch((error: unknown) => log.warn({ err: error }, 'nonce pruning failed'));
    pruneOldLoginFailures(ctx).catch((error: unknown) =>
      log.warn({ err: error }, 'login failure pruning failed'),
    );
  }, 60_000);
  pruner.unref();

  let closed = false;
  return {
    app,
    ctx,
    routes,
    async listen() {
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(pruner);
      shutdown.abort();
      await app.close();
      await closeAudit(ctx).catch((error: unknown) =>
        log.error(
          { err: error },
          'audit entries left unchained; the next start or `itda audit verify` links them',
        ),
      );
      await database.close();
    },
  };
}
