/**
 * `itda synth`: a synthetic Korean patient population as FHIR R4 Bulk Data NDJSON, one
 * folder per hospital, with the ground truth beside it (see src/synth/README.md).
 */
import type { Command } from 'commander';
import { ItdaError } from '../../protocol/errors.ts';
import { synthesize } from '../../synth/synthesize.ts';
import { createProgress } from '../progress.ts';
import { action } from '../run.ts';

interface RawSynthOptions {
  patients: string;
  sites: string;
  seed: string;
  out: string;
  start: string;
  end: string;
}

/** A whole number from the command line, or a validation error naming the option. */
function wholeNumber(option: string, raw: string): number {
  if (!/^\s*\d+\s*$/.test(raw))
    throw new ItdaError('validation_failed', `${option} must be a whole number (got "${raw}")`);
  return Number(raw);
}

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description(
      'generate a synthetic Korean patient population as FHIR R4 Bulk Data NDJSON, one folder per hospital',
    )
    .requiredOption('--patients <n>', 'number of people (1 to 9,999,999)')
    .option('--sites <n>', 'number of hospitals (1 to 99); each person uses 1–3 of them', '3')
    .option('--seed <seed>', 'random seed (any text); the same seed gives byte-identical output', '1')
    .requiredOption('--out <dir>', 'output folder (site-1/, site-2/, …, truth/)')
    .option('--start <date>', 'first day of the period (YYYY-MM-DD)', '2015-01-01')
    .option(
      '--end <date>',
      'last day of the period (YYYY-MM-DD), at least three years after --start',
      '2025-12-31',
    )
    .addHelpText(
      'after',
      [
        '',
        'Writes DIR/site-N/<ResourceType>.ndjson (Patient, Encounter, Condition, Observation,',
        'MedicationRequest, Procedure, ImagingStudy, DiagnosticReport, DocumentReference,',
        'Organization, Practitioner) and DIR/truth/ (persons.ndjson, pii.ndjson, model.json).',
        'The truth/ folder (person ↔ hospital ids, identifiers planted in notes, the generating',
        'model) is for evaluation only: never give it to a site.',
        '',
        'Example: itda synth --patients 10000 --sites 3 --seed 42 --out ./synth',
      ].join('\n'),
    )
    .action(
      action(async (raw: RawSynthOptions) => {
        const options = {
          patients: wholeNumber('--patients', raw.patients),
          sites: wholeNumber('--sites', raw.sites),
          seed: raw.seed,
          out: raw.out,
          start: raw.start,
          end: raw.end,
        };
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
      }),
    );
}
