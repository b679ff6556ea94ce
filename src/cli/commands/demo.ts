import type { Command } from 'commander';
import { DEMO_PATIENTS, demoBanner, startDemoNetwork } from '../demo.ts';
import { action, untilSignal } from '../run.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start the demo network: a hub and three hospital sites, with the web UI')
    .option('--dir <dir>', 'where the demo keeps its state', '.itda/demo')
    .option('--port <port>', 'hub port', (v) => Number.parseInt(v, 10), Number(process.env.ITDA_PORT ?? 8080))
    .option('--sites <n>', 'number of sites', (v) => Number.parseInt(v, 10), 3)
    .option('--no-web-build', 'do not build the web app when it is missing (API only)')
    .option(
      '--patients <n>',
      'synthetic patients generated on first start (0: none)',
      (v) => Number.parseInt(v, 10),
      DEMO_PATIENTS,
    )
    .action(
      action(
        async (options: {
          dir: string;
          port: number;
          sites: number;
          webBuild: boolean;
          patients: number;
        }) => {
          const network = await startDemoNetwork({
            dir: options.dir,
            port: options.port,
            sites: options.sites,
            buildWeb: options.webBuild,
            patients: options.patients,
            logLevel: process.env.ITDA_LOG_LEVEL ?? 'warn',
          });
          process.stdout.write(demoBanner(network));
          await untilSignal(() => network.stop());
        },
      ),
    );
}
