/**
 * The site node process: registers with the hub, then long-polls for signed tasks and
 * posts their results. Network trouble is retried with backoff; it never crashes the
 * node.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { ItdaError } from '../../protocol/errors.ts';
import type { RegistrationReply, SignedTask, SiteStatus, TaskPollReply } from '../../protocol/wire.ts';
import type { SiteConfig } from '../config.ts';
import { feasibilityHandler } from '../feasibility/feasibility-task.ts';
import { computeProfile } from '../profile/profile.ts';
import { runQualityChecks } from '../quality/run.ts';
import { openSiteStore } from '../store/open.ts';
import type { SiteStore } from '../store/store.ts';
import { cohortCountHandler } from './cohort-count.ts';
import { HubClient } from './hub-client.ts';
import { loadOrCreateSiteIdentity, pinHubKey, readPinnedHubKey } from './identity.ts';
import { RevocationList } from './permits.ts';
import { TaskLog } from './task-log.ts';
import { pingHandler, runTask, type TaskHandler } from './tasks.ts';

export const SITE_SOFTWARE = 'itda-site/0.1';

export interface SiteNodeState {
  siteId: string;
  registration: SiteStatus | 'unregistered';
  connected: boolean;
  lastError: string | undefined;
  tasksRun: number;
  reportsPublishedAt: string | undefined;
}

export interface SiteNode {
  state: SiteNodeState;
  /** The site's OMOP store, open while the node runs. */
  store: SiteStore;
  /** Resolves once the node is registered and approved. */
  ready: Promise<void>;
  /** Resolves once the first quality and profile reports were sent (or failed). */
  reportsPublished(): Promise<void>;
  /** Recomputes the quality report and profile and sends them (after new data is loaded). */
  publishReports(): Promise<void>;
  stop(): Promise<void>;
}

export interface SiteNodeOptions {
  logger?: pino.Logger;
  /** Extra task handlers (later capabilities); ping is always there. */
  handlers?: Partial<Record<SignedTask['body']['type'], TaskHandler>>;
}

const MAX_BACKOFF_MS = 30_000;

export async function startSiteNode(config: SiteConfig, options: SiteNodeOptions = {}): Promise<SiteNode> {
  const log = options.logger ?? pino({ level: config.logLevel, name: `site:${config.siteId}` });
  const identity = await loadOrCreateSiteIdentity(config.dir);
  const client = new HubClient(config.hubUrl, config.siteId, identity.privateKey);
  const taskLog = await TaskLog.open(config.dir, identity.privateKey);
  const store = await openSiteStore({
    dir: config.dir,
    url: config.storeUrl,
    cdmSchema: config.cdmSchema,
    existingCdm: config.existingCdm,
    memoryLimit: config.memoryLimit,
  });
  log.info({ store: store.location, kind: store.kind }, 'site store ready');
  const revokedPermits = await RevocationList.open(config.dir, (message) => log.warn(message));
  const handlers = {
    ping: pingHandler,
    cohort_count: cohortCountHandler(store, config.disclosure),
    feasibility: feasibilityHandler(store, config.disclosure),
    ...options.handlers,
  };
  const state: SiteNodeState = {
    siteId: config.siteId,
    registration: 'unregistered',
    connected: false,
    lastError: undefined,
    tasksRun: 0,
    reportsPublishedAt: undefined,
  };
  const abort = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let backoff = 1000;

  const fail = async (error: unknown) => {
    if (abort.signal.aborted) return;
    state.connected = false;
    const message = error instanceof Error ? error.message : String(error);
    if (message !== state.lastError) log.warn({ err: message }, 'hub request failed; retrying');
    state.lastError = message;
    await sleep(backoff, undefined, { signal: abort.signal }).catch(() => {});
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  };

  async function register(): Promise<string> {
    const reply = await client.request<RegistrationReply>('POST', '/api/sites', {
      name: config.siteName,
      publicKey: identity.publicKey,
      software: SITE_SOFTWARE,
      ...(config.enrolmentToken ? { enrolmentToken: config.enrolmentToken } : {}),
    });
    const pinned = await readPinnedHubKey(config.dir);
    if (pinned && pinned !== reply.hubPublicKey) {
      throw new ItdaError(
        'bad_signature',
        'the hub presents a different key than the one pinned at first registration',
      );
    }
    if (!pinned) await pinHubKey(config.dir, reply.hubPublicKey);
    state.registration = reply.status;
    return reply.hubPublicKey;
  }

  let reportsPublished: Promise<void> | undefined;
  /** Quality checks and the profile of what the site holds: only aggregates go to the hub. */
  async function publishReports(): Promise<void> {
    try {
      const quality = await runQualityChecks(store);
      await client.request('PUT', `/api/sites/${config.siteId}/quality`, quality);
      const profile = await computeProfile(store, { disclosure: config.disclosure });
      await client.request('PUT', `/api/sites/${config.siteId}/profile`, profile);
      state.reportsPublishedAt = new Date().toISOString();
      log.info(
        { checks: quality.overall.run, passed: quality.overall.percentPassed },
        'quality and profile published',
      );
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'quality and profile not published');
    }
  }

  async function loop(): Promise<void> {
    let hubKey: string | undefined;
    while (!abort.signal.aborted) {
      try {
        if (!hubKey || state.registration !== 'approved') {
          hubKey = await register();
          if (state.registration !== 'approved') {
            log.info('registered; waiting for the operator to approve this site');
            await sleep(10_000, undefined, { signal: abort.signal }).catch(() => {});
            continue;
          }
          log.info({ hub: config.hubUrl }, 'registered and approved');
          markReady();
          reportsPublished ??= publishReports();
        }
        const reply = await client.request<TaskPollReply>(
          'GET',
          `/api/sites/${config.siteId}/tasks?wait=${config.pollWaitSeconds}`,
          undefined,
          abort.signal,
        );
        state.connected = true;
        state.lastError = undefined;
        backoff = 1000;
        // Revocations first, so a task in the same reply under a revoked permit is refused.
        if (reply.revokedPermitIds) await revokedPermits.add(reply.revokedPermitIds);
        for (const signed of reply.tasks) {
          const { taskId, result } = await runTask(signed, {
            hubPublicKey: hubKey,
            siteId: config.siteId,
            handlers,
            isPermitRevoked: (id) => revokedPermits.has(id),
          });
          await taskLog.append({
            actorId: config.siteId,
            action: `task.${result.outcome}`,
            targetType: 'task',
            targetId: taskId,
            details: {
              type: signed.body.type,
              permitId: signed.body.permitId ?? null,
              ...(result.error ? { error: result.error.code } : {}),
            },
          });
          state.tasksRun += 1;
          log.info({ taskId, type: signed.body.type, outcome: result.outcome }, 'task finished');
          await client.request('POST', `/api/tasks/${taskId}/result`, result);
        }
      } catch (error) {
        if (
          error instanceof ItdaError &&
          (error.code === 'site_not_approved' || error.code === 'unknown_site')
        ) {
          state.registration = 'unregistered';
        }
        await fail(error);
      }
    }
  }

  const running = loop();
  return {
    state,
    store,
    ready,
    reportsPublished: () => reportsPublished ?? Promise.resolve(),
    publishReports: () => {
      reportsPublished = (reportsPublished ?? Promise.resolve()).then(publishReports);
      return reportsPublished;
    },
    async stop() {
      abort.abort();
      await running;
      await reportsPublished;
      await store.close();
    },
  };
}
