/**
 * Commands whose capability is not built yet. They exist so `--help` shows the whole
 * tool, and they say plainly that they are not available — never pretend to work.
 */
import type { Command } from 'commander';
import { ItdaError } from '../../protocol/errors.ts';
import { action } from '../run.ts';

export function notAvailable(what: string): () => Promise<void> {
  return action(async () => {
    throw new ItdaError('unsupported', `${what} is not available yet in this version of Itda`);
  });
}

export function registerPlaceholder(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(`${description} (not available yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(notAvailable(`itda ${parent.name() === 'itda' ? '' : `${parent.name()} `}${name}`));
}
