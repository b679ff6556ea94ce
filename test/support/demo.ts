/**
 * The demo network for end-to-end tests: a hub and three sites in this process on a free
 * port, quiet, with short polls and no generated patients unless a test asks for them.
 * `dispose()` stops it and removes its folder.
 */
import fs from 'node:fs/promises';
import { type DemoNetwork, type DemoOptions, startDemoNetwork } from '../../src/cli/demo.ts';
import { tempDir } from './hub.ts';

export interface TestDemo extends DemoNetwork {
  dir: string;
  dispose(): Promise<void>;
}

export async function startTestDemo(
  prefix: string,
  options: Partial<Omit<DemoOptions, 'dir'>> = {},
): Promise<TestDemo> {
  const dir = await tempDir(prefix);
  // ITDA_WEB_DIST points the hub at another build of the web app, as it does for `itda hub`.
  const webDist = options.buildWeb ? process.env.ITDA_WEB_DIST : undefined;
  const network = await startDemoNetwork({
    dir,
    port: 0,
    logLevel: 'silent',
    pollWaitSeconds: 5,
    buildWeb: false,
    patients: 0,
    ...options,
    hub: { ...(webDist ? { webDist } : {}), ...options.hub },
  });
  return Object.assign(network, {
    dir,
    async dispose() {
      await network.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  });
}
