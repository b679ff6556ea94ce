import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/hub.ts';
import { generateSigningKeyPair, loadPrivateKey } from '../../protocol/signing.ts';
import { TASK_LOG_FILE, TaskLog, verifyTaskLog } from './task-log.ts';

describe('site task log', () => {
  it('chains entries across reopenings and detects an edited line', async () => {
    const dir = await tempDir('itda-tasklog-');
    const keys = generateSigningKeyPair();
    const key = loadPrivateKey(keys.privateKeyPem);
    const first = await TaskLog.open(dir, key);
    await Promise.all(
      [1, 2, 3].map((i) =>
        first.append({ action: 'task.done', targetType: 'task', targetId: `t${i}`, details: {} }),
      ),
    );
    const reopened = await TaskLog.open(dir, key);
    await reopened.append({
      action: 'task.refused',
      targetType: 'task',
      targetId: 't4',
      details: { error: 'bad_signature' },
    });
    expect(await verifyTaskLog(dir, keys.publicKey)).toMatchObject({ ok: true, entries: 4 });

    const file = path.join(dir, TASK_LOG_FILE);
    const lines = (await fs.readFile(file, 'utf8')).trimEnd().split('\n');
    lines[1] = lines[1]!.replace('task.done', 'task.refused');
    await fs.writeFile(file, `${lines.join('\n')}\n`);
    expect(await verifyTaskLog(dir, keys.publicKey)).toMatchObject({ ok: false, firstBadSeq: 2 });
    await fs.rm(dir, { recursive: true, force: true });
  });
});
