/**
 * The `itda` command: every subcommand, with --help on each.
 */
import { Command } from 'commander';
import { HUB_VERSION } from '../hub/version.ts';
import { registerAuditCommand } from './commands/audit.ts';
import { registerCohortCommand } from './commands/cohort.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerHubCommand } from './commands/hub.ts';
import { registerSiteCommand } from './commands/site.ts';
import { registerStoreCommands } from './commands/store.ts';
import { registerSynthCommand } from './commands/synth.ts';

export function buildProgram(): Command {
  const program = new Command('itda')
    .description('Itda (잇다): hospital data for medical AI, used where it lives')
    .version(HUB_VERSION, '-v, --version')
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  registerDemoCommand(program);
  registerHubCommand(program);
  const site = registerSiteCommand(program);
  registerSynthCommand(program);
  registerStoreCommands(program, site);
  registerCohortCommand(program);
  registerAuditCommand(program);
  return program;
}
