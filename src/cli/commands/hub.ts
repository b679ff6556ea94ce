import type { Command } from 'commander';
import { loadHubConfig } from '../../hub/config.ts';
import { createHub } from '../../hub/server.ts';
import { action, untilSignal } from '../run.ts';

export function registerHubCommand(program: Command): void {
  program
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
}
