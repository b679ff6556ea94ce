import type { Command } from 'commander';
import { loadHubConfig } from '../../hub/config.ts';
import { openHubDatabase } from '../../hub/db/database.ts';
import { createHub } from '../../hub/server.ts';
import { loadHubVocabulary } from '../../hub/vocabulary/service.ts';
import { createProgress } from '../progress.ts';
import { action, untilSignal } from '../run.ts';

export function registerHubCommand(program: Command): void {
  const hubCommand = program
    .command('hub')
    .description('run the hub (API, site protocol, web UI)')
    .option('--host <host>', 'address to listen on (ITDA_HOST)')
    .option('--port <port>', 'port to listen on (ITDA_PORT)', (v) => Number.parseInt(v, 10))
    .option('--data-dir <dir>', 'keys and the embedded database (ITDA_DATA_DIR)')
    .action(
      action(async (options: { host?: string; port?: number; dataDir?: string }) => {
        const config = loadHubConfig(process.env, {
          ...(options.host ? { host: options.host } : {}),
          ...(options.port !== undefined ? { port: options.port } : {}),
          ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        });
        const hub = await createHub(config);
        const url = await hub.listen();
        process.stderr.write(
          `Itda hub on ${url} (database: ${hub.ctx.databaseKind}); API docs at ${url}/api/docs\n`,
        );
        await untilSignal(() => hub.close());
      }),
    );
  registerVocabCommand(hubCommand);
}

/** `itda hub vocab load`: the hub's copy of CONCEPT and CONCEPT_SYNONYM, for concept search. */
function registerVocabCommand(hubCommand: Command): void {
  hubCommand
    .command('vocab')
    .description("the hub's vocabulary copy (concepts and synonyms; no patient data)")
    .command('load')
    .description(
      'load an Athena download or OMOP CSV vocabulary folder (CONCEPT, CONCEPT_SYNONYM) into the hub',
    )
    .argument('<vocabdir>', 'folder with CONCEPT.csv and, optionally, CONCEPT_SYNONYM.csv')
    .option('--data-dir <dir>', 'hub data directory (ITDA_DATA_DIR); stop an embedded hub first')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (dir: string, options: { dataDir?: string; json?: boolean }, command: Command) => {
        // `itda hub` has a --data-dir of its own, and commander gives it the flag wherever it stands.
        const dataDir = options.dataDir ?? (command.optsWithGlobals() as { dataDir?: string }).dataDir;
        const config = loadHubConfig(process.env, dataDir ? { dataDir } : {});
        const database = await openHubDatabase({
          dataDir: config.dataDir,
          ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
        });
        const progress = createProgress('vocab', 0, 'rows');
        try {
          const result = await loadHubVocabulary(database.db, dir, {
            onProgress: (rows) => progress.update(rows),
          });
          progress.stop();
          if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
          else {
            process.stdout.write(
              `loaded ${result.concepts} concepts and ${result.synonyms} synonyms from ${result.dir}; ${result.rejected} rows rejected\n`,
            );
            for (const line of result.rejections) process.stdout.write(`  rejected ${line}\n`);
          }
        } finally {
          progress.stop();
          await database.close();
        }
      }),
    );
}
