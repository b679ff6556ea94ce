/**
 * bench/synth: generation speed and memory of `itda synth`.
 *
 *   npx tsx bench/synth.ts [N ...]          (default: 10000 100000)
 *
 * Each N runs in its own process (so peak RSS is that run's). The baseline is
 * JSON.stringify of the same resources, timed in the same process: the ratio
 * generation / stringify says how much work beyond serialization generation costs,
 * whatever the machine's speed. Targets: ≥ 50,000 resources/s on one core, and peak
 * memory at N = 100,000 within 1.3× of N = 10,000.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../src/synth/synthesize.ts';

interface RunResult {
  patients: number;
  resources: number;
  generateSeconds: number;
  stringifySeconds: number;
  maxRssMb: number;
}

async function stringifyBaseline(out: string): Promise<number> {
  let nanos = 0n;
  for (const site of fs.readdirSync(out).filter((d) => d.startsWith('site-'))) {
    for (const file of fs.readdirSync(path.join(out, site))) {
      const lines = readline.createInterface({ input: fs.createReadStream(path.join(out, site, file)) });
      for await (const line of lines) {
        const resource = JSON.parse(line) as unknown;
        const t = process.hrtime.bigint();
        JSON.stringify(resource);
        nanos += process.hrtime.bigint() - t;
      }
    }
  }
  return Number(nanos) / 1e9;
}

async function runOne(patients: number): Promise<RunResult> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-bench-synth-'));
  try {
    const started = performance.now();
    const summary = await synthesize({ patients, sites: 3, seed: 1, out });
    const generateSeconds = (performance.now() - started) / 1000;
    const maxRssMb = process.resourceUsage().maxRSS / 1024;
    const stringifySeconds = await stringifyBaseline(out);
    return { patients, resources: summary.resources, generateSeconds, stringifySeconds, maxRssMb };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  process.stdout.write(JSON.stringify(await runOne(Number(process.argv[3]))));
} else {
  const sizes = process.argv.slice(2).map(Number);
  const results: RunResult[] = [];
  for (const n of sizes.length ? sizes : [10_000, 100_000]) {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(n)],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    if (child.status !== 0) throw new Error(`run for N=${n} failed:\n${child.stderr}`);
    const r = JSON.parse(child.stdout) as RunResult;
    results.push(r);
    const rate = r.resources / r.generateSeconds;
    process.stdout.write(
      `N=${n.toLocaleString('en')}: ${r.resources.toLocaleString('en')} resources in ${r.generateSeconds.toFixed(1)} s = ` +
        `${Math.round(rate).toLocaleString('en')}/s (target ≥ 50,000/s); generation / JSON.stringify = ` +
        `${(r.generateSeconds / r.stringifySeconds).toFixed(2)}×; peak RSS ${r.maxRssMb.toFixed(0)} MB\n`,
    );
  }
  if (results.length >= 2) {
    const ratio = results.at(-1)!.maxRssMb / results[0]!.maxRssMb;
    process.stdout.write(
      `peak memory N=${results.at(-1)!.patients.toLocaleString('en')} / N=${results[0]!.patients.toLocaleString('en')} = ${ratio.toFixed(2)}× (target ≤ 1.3×)\n`,
    );
  }
}
