/**
 * The house rules from ARCHITECTURE.md, checked on the source: libraries never import
 * `site` or `hub`, `hub` and `site` never import each other, every folder says what it owns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');
const LIBRARIES = ['omop', 'fhir', 'cohort', 'privacy', 'learn', 'synth', 'protocol'];

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const full = path.join(entry.parentPath, entry.name);
    return entry.isFile() && /\.(ts|tsx)$/.test(entry.name) ? [full] : [];
  });
}

/** Top-level src folders a file imports, resolved from its relative import specifiers. */
function importedFolders(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  const folders = new Set<string>();
  for (const match of text.matchAll(
    /(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g,
  )) {
    const target = path.resolve(path.dirname(file), match[1] ?? match[2]!);
    const relative = path.relative(SRC, target);
    if (!relative.startsWith('..')) folders.add(relative.split(path.sep)[0]!);
  }
  return folders;
}

function violations(folder: string, forbidden: string[]): string[] {
  return sourceFiles(path.join(SRC, folder)).flatMap((file) =>
    [...importedFolders(file)]
      .filter((imported) => forbidden.includes(imported))
      .map((imported) => `${path.relative(SRC, file)} imports ${imported}/`),
  );
}

describe('architecture rules', () => {
  it.each(LIBRARIES)('library %s imports neither hub nor site', (library) => {
    expect(violations(library, ['hub', 'site', 'cli'])).toEqual([]);
  });

  it('hub does not import site, and site does not import hub', () => {
    expect([...violations('hub', ['site', 'cli']), ...violations('site', ['hub', 'cli'])]).toEqual([]);
  });

  it('the import scanner sees real imports (so the rules above can fail)', () => {
    expect(importedFolders(path.join(SRC, 'hub', 'server.ts')).has('protocol')).toBe(true);
    expect(importedFolders(path.join(SRC, 'cli', 'demo.ts'))).toEqual(expect.any(Set));
    expect([...importedFolders(path.join(SRC, 'cli', 'demo.ts'))]).toEqual(
      expect.arrayContaining(['hub', 'site']),
    );
  });

  it('every src folder carries a README saying what it owns', () => {
    const folders = fs
      .readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.readdirSync(path.join(SRC, e.name)).length > 0)
      .map((e) => e.name);
    const missing = folders.filter((f) => !fs.existsSync(path.join(SRC, f, 'README.md')));
    expect(missing).toEqual([]);
  });
});
