/**
 * The `itda` command: every subcommand, with --help on each.
 */
import { Command } from 'commander';
import { HUB_VERSION } from '../hub/version.ts';
import { registerAuditCommand } from './commands/audit.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerHubCommand } from './commands/hub.ts';
import { registerPlaceholder } from './commands/placeholders.ts';
import { registerSiteCommand } from './commands/site.ts';
import { registerSynthCommand } from './commands/synth.ts';

export function buildProgram(): Command {
  const program = new Command('itda')
    .description('Itda (잇다): hospital data for medical AI, used where it lives')
    .version(HUB_VERSION, '-v, --version')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  registerDemoCommand(program);
  registerHubCommand(program);
  registerSiteCommand(program);
  registerSynthCommand(program);
  registerPlaceholder(program, 'ingest', 'load FHIR R4 or OMOP CSV into a site store');
  registerPlaceholder(program, 'vocab', 'load OMOP vocabularies into a site store');
  registerPlaceholder(program, 'cohort', 'count, generate or compile cohort definitions');
  registerAuditCommand(program);
  return program;
}
