/**
 * A FHIR ingest that dies like a killed process (SIGKILL: no rollback, no cleanup) once it
 * has written `killAfter` resources. For tests of what the next run finds.
 *
 *   node --import tsx test/support/ingest-then-die.ts DIR URL|- KILL_AFTER COMMIT_EVERY FILE...
 */
import path from 'node:path';
import { ingestFhir } from '../../src/site/ingest/fhir-ingest.ts';
import { openSiteStore } from '../../src/site/store/open.ts';

const [dir, url, killAfter, commitEvery, ...files] = process.argv.slice(2);
const store = await openSiteStore({ dir: dir!, url: url === '-' ? undefined : url });
await ingestFhir(store, files, {
  quarantineDir: path.join(dir!, 'quarantine'),
  batchSize: 10,
  commitEvery: Number(commitEvery),
  onProgress: (resources) => {
    if (resources >= Number(killAfter)) process.kill(process.pid, 'SIGKILL');
  },
});
process.stderr.write('the ingest finished before it was killed\n');
process.exit(3);
