import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('README', () => {
  it('shows the two quick-start commands', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('documents every ITDA_* variable the code reads', () => {
    const used = new Set<string>();
    for (const file of [...filesUnder('src'), ...filesUnder('test')]) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bITDA_[A-Z_]+[A-Z]\b/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThan(5);
    const documented = new Set([...readme.matchAll(/^\| `(ITDA_[A-Z_]+)` \|/gm)].map((m) => m[1]));
    expect([...used].filter((v) => !documented.has(v)).sort()).toEqual([]);
  });
});
