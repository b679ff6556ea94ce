import type { Command } from 'commander';
import { synthesize } from '../../synth/synthesize.ts';
import { createProgress } from '../progress.ts';
import { action } from '../run.ts';

const integer = (value: string) => {
  const n = Number(value);
  return Number.isInteger(n) ? n : Number.NaN;
};

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description(
      'generate a synthetic Korean patient population as FHIR R4 Bulk Data NDJSON, one folder per hospital',
    )
    .requiredOption('--patients <n>', 'number of people', integer)
    .option('--sites <n>', 'number of hospitals', integer, 3)
    .option('--seed <seed>', 'random seed; the same seed gives byte-identical output', '1')
    .requiredOption('--out <dir>', 'output folder (site-1/, site-2/, …, truth/)')
    .option('--start <date>', 'first day of the period (YYYY-MM-DD)', '2015-01-01')
    .option('--end <date>', 'last day of the period (YYYY-MM-DD)', '2025-12-31')
    .addHelpText(
      'after',
      '\nThe truth/ folder (person ↔ hospital ids, planted identifiers, model coefficients) is for\nevaluation only: never give it to a site.',
    )
    .action(
      action(
        async (options: {
          patients: number;
          sites: number;
          seed: string;
          out: string;
          start: string;
          end: string;
        }) => {
          const progress = createProgress('synth', options.patients, 'people');
          const started = performance.now();
          try {
            const summary = await synthesize(options, { onProgress: (done) => progress.update(done) });
            progress.stop();
            const seconds = (performance.now() - started) / 1000;
            process.stdout.write(
              `${summary.patients.toLocaleString('en')} people, ${summary.resources.toLocaleString('en')} FHIR resources ` +
                `in ${seconds.toFixed(1)} s (${Math.round(summary.resources / seconds).toLocaleString('en')}/s) → ${options.out}\n` +
                `${summary.multiSitePersons.toLocaleString('en')} people use more than one hospital; ` +
                `${summary.plantedPii.toLocaleString('en')} identifiers planted in notes (see truth/pii.ndjson)\n`,
            );
          } finally {
            progress.stop();
          }
        },
      ),
    );
}
