import type { Command } from 'commander';
import { chainPendingAudit, verifyAuditLog } from '../../hub/audit/service.ts';
import { loadHubConfig } from '../../hub/config.ts';
import { openHubDatabase } from '../../hub/db/database.ts';
import { loadOrCreateHubKeys } from '../../hub/keys.ts';
import { action } from '../run.ts';

export function registerAuditCommand(program: Command): void {
  const auditCommand = program.command('audit').description("the hub's tamper-evident audit log");
  auditCommand
    .command('verify')
    .description('check the whole hash chain and name the first edited, removed or reordered entry')
    .option('--data-dir <dir>', 'hub data directory (ITDA_DATA_DIR); stop an embedded hub first')
    .option('--json', 'print the verdict as JSON')
    .action(
      action(async (options: { dataDir?: string; json?: boolean }) => {
        const config = loadHubConfig(process.env, options.dataDir ? { dataDir: options.dataDir } : {});
        const [database, keys] = await Promise.all([
          openHubDatabase({
            dataDir: config.dataDir,
            ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
          }),
          loadOrCreateHubKeys(config.dataDir),
        ]);
        try {
          // Entries a stopped hub left unchained are linked first, so every entry is checked.
          await chainPendingAudit(database.db, keys.privateKey);
          const verdict = await verifyAuditLog(database.db, keys.publicKey);
          if (options.json) process.stdout.write(`${JSON.stringify(verdict)}\n`);
          else if (verdict.ok) {
            process.stdout.write(`audit log intact: ${verdict.entries} entries, head ${verdict.headHash}\n`);
          } else {
            process.stdout.write(
              `audit log BROKEN at entry ${verdict.firstBadSeq} (position ${verdict.position + 1} of ${verdict.entries}): ${verdict.reason}\n`,
            );
          }
          if (!verdict.ok) process.exitCode = 1;
        } finally {
          await database.close();
        }
      }),
    );
}
