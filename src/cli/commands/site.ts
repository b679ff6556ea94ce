import type { Command } from 'commander';
import { loadSiteConfig } from '../../site/config.ts';
import { startSiteNode } from '../../site/node/site-node.ts';
import { action, untilSignal } from '../run.ts';

interface SiteRunFlags {
  site: string;
  hub?: string;
  id?: string;
  name?: string;
  token?: string;
  cdmSchema?: string;
  existingCdm?: boolean;
}

export function registerSiteCommand(program: Command): Command {
  const site = program.command('site').description('run and inspect a site node (one hospital)');
  site
    .command('run')
    .description('run the site node: register with the hub and answer its signed tasks')
    .requiredOption('--site <dir>', "the site's directory (keys, OMOP store, quarantine)")
    .option('--hub <url>', 'hub URL (ITDA_HUB_URL)')
    .option('--id <id>', 'site id (ITDA_SITE_ID; default: the directory name)')
    .option('--name <name>', 'display name (ITDA_SITE_NAME)')
    .option('--token <token>', 'enrolment token from the operator (ITDA_ENROLMENT_TOKEN)')
    .option('--cdm-schema <schema>', 'schema of the CDM tables (ITDA_CDM_SCHEMA; default cdm)')
    .option(
      '--existing-cdm',
      'the CDM schema is an existing OMOP database (PostgreSQL) that Itda only reads (ITDA_SITE_EXISTING_CDM)',
    )
    .action(
      action(async (options: SiteRunFlags) => {
        const config = loadSiteConfig(options.site, process.env, {
          ...(options.hub ? { hubUrl: options.hub } : {}),
          ...(options.id ? { siteId: options.id } : {}),
          ...(options.name ? { siteName: options.name } : {}),
          ...(options.token ? { enrolmentToken: options.token } : {}),
          ...(options.cdmSchema ? { cdmSchema: options.cdmSchema } : {}),
          ...(options.existingCdm ? { existingCdm: true } : {}),
        });
        const node = await startSiteNode(config);
        process.stderr.write(`Itda site ${config.siteId} → ${config.hubUrl}\n`);
        await untilSignal(() => node.stop());
      }),
    );
  return site;
}
