/**
 * What a site does with a task: verify first (hub signature against the pinned key,
 * addressed to this site, still valid, and the permit it runs under — see permits.ts),
 * then act. The hub is not trusted blindly.
 */
import { ItdaError } from '../../protocol/errors.ts';
import { keyFingerprint, verifyValue } from '../../protocol/signing.ts';
import { type SignedTask, type TaskBody, type TaskResult, taskBodySchema } from '../../protocol/wire.ts';
import { verifyTaskPermit } from './permits.ts';

export function verifyTask(
  signed: SignedTask,
  hubPublicKey: string,
  siteId: string,
  now = new Date(),
  isPermitRevoked: (permitId: string) => boolean = () => false,
): TaskBody {
  if (signed.keyId !== keyFingerprint(hubPublicKey)) {
    throw new ItdaError('bad_signature', `task signed by key ${signed.keyId}, not the pinned hub key`);
  }
  if (!verifyValue(hubPublicKey, signed))
    throw new ItdaError('bad_signature', 'task signature does not verify');
  const parsed = taskBodySchema.safeParse(signed.body);
  if (!parsed.success)
    throw new ItdaError('validation_failed', `task is malformed: ${parsed.error.issues[0]?.message}`);
  const body = parsed.data;
  if (body.siteId !== siteId)
    throw new ItdaError('forbidden', `task is addressed to ${body.siteId}, not ${siteId}`);
  if (Date.parse(body.expiresAt) <= now.getTime()) throw new ItdaError('permit_expired', 'task has expired');
  verifyTaskPermit(body, { hubPublicKey, siteId, isRevoked: isPermitRevoked, now });
  return body;
}

export type TaskHandler = (task: TaskBody) => Promise<unknown>;

/** Runs a verified task; every failure becomes a result the hub can show. */
export async function runTask(
  signed: SignedTask,
  options: {
    hubPublicKey: string;
    siteId: string;
    handlers: Partial<Record<TaskBody['type'], TaskHandler>>;
    /** The site's revocation list (permits.ts RevocationList). */
    isPermitRevoked?: (permitId: string) => boolean;
  },
): Promise<{ taskId: string; result: TaskResult }> {
  const taskId = signed.body.id;
  let body: TaskBody;
  try {
    body = verifyTask(signed, options.hubPublicKey, options.siteId, new Date(), options.isPermitRevoked);
  } catch (error) {
    const e = error instanceof ItdaError ? error : new ItdaError('bad_request', String(error));
    return { taskId, result: { outcome: 'refused', error: { code: e.code, message: e.message } } };
  }
  const handler = options.handlers[body.type];
  if (!handler) {
    return {
      taskId,
      result: { outcome: 'refused', error: { code: 'unsupported', message: `task type ${body.type}` } },
    };
  }
  try {
    return { taskId, result: { outcome: 'done', result: await handler(body) } };
  } catch (error) {
    if (error instanceof ItdaError) {
      const outcome = error.status < 500 ? 'refused' : 'failed';
      return { taskId, result: { outcome, error: { code: error.code, message: error.message } } };
    }
    return {
      taskId,
      result: { outcome: 'failed', error: { code: 'internal', message: 'the task failed at the site' } },
    };
  }
}

export const pingHandler: TaskHandler = async (task) => {
  if (task.type !== 'ping') throw new ItdaError('unsupported', task.type);
  return { pong: true, message: task.payload.message, siteTime: new Date().toISOString() };
};
