import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';
import { configSchema } from '../../../src/config/index.js';
import { BUILTIN_PLUGINS } from '../../../src/handlers/index.js';
import { REPO } from '../../helpers/config.js';
import { schemaKeys, type SchemaKey } from '../../helpers/schema-keys.js';

/**
 * The README's configuration reference against the zod schemas (the service's own and each built-in plugin's):
 * a key added to a schema without a README row fails here, and so does a row for a key that no longer exists or
 * a default that changed.
 */
const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const section = /\n### Keys\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';

const keys: SchemaKey[] = [
  ...schemaKeys(configSchema as never),
  ...BUILTIN_PLUGINS.flatMap((p) => schemaKeys(p.settingsSchema((path: string) => path) as never, ['handlers', p.name])),
];

interface Row {
  paths: string[];
  defaultCell: string;
}

/** `a.b.c`, `.d` -> a.b.c, a.b.d; `a.b.c/d/e` -> a.b.c, a.b.d, a.b.e. */
function rowPaths(cell: string): string[] {
  const tokens = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  const paths: string[] = [];
  let parent = '';
  for (const token of tokens) {
    const full = token.startsWith('.') ? `${parent}${token}` : token;
    const [first, ...alternatives] = full.split('/');
    const lastDot = (first as string).lastIndexOf('.');
    if (!token.startsWith('.')) parent = (first as string).slice(0, lastDot);
    paths.push(first as string, ...alternatives.map((a) => `${(first as string).slice(0, lastDot + 1)}${a}`));
  }
  return paths;
}

const rows: Row[] = section
  .split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) => {
    const cells = line.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''));
    return { paths: rowPaths(cells[0] ?? ''), defaultCell: (cells[1] ?? '').trim() };
  });
const documented = rows.flatMap((r) => r.paths);

/** `handlers.<name>.x` in the README covers every handler's `x`, and the schema's `<name>` too. */
function covers(doc: string, key: string): boolean {
  const d = doc.split('.');
  const k = key.split('.');
  return d.length === k.length && d.every((seg, i) => seg === k[i] || seg === '<name>');
}

function shown(key: SchemaKey): string {
  const v = key.default;
  if (key.duration && typeof v === 'number') return formatDuration(v);
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

describe('README configuration reference', () => {
  it('has the table', () => {
    expect(rows.length).toBeGreaterThan(50);
  });

  it('documents every key of the schemas', () => {
    const missing = keys.filter((k) => !documented.some((d) => covers(d, k.path))).map((k) => k.path);
    expect(missing).toEqual([]);
  });

  it('documents no key the schemas do not have', () => {
    const stale = documented.filter((d) => !keys.some((k) => covers(d, k.path) || covers(k.path, d) || (k.parts ?? []).some((p) => covers(d, p))));
    expect(stale).toEqual([]);
  });

  it('gives each single-key row the default of the schema', () => {
    const wrong: string[] = [];
    for (const row of rows) {
      const value = /^`([^`]*)`$/.exec(row.defaultCell)?.[1];
      if (row.paths.length !== 1 || value === undefined) continue;
      const key = keys.find((k) => covers(row.paths[0] as string, k.path) && 'default' in k);
      if (!key) continue;
      // `60s` and `1m` are the same duration.
      const same = key.duration ? parseDuration(value) === key.default : shown(key) === value;
      if (!same) wrong.push(`${row.paths[0]}: README says \`${value}\`, the schema \`${shown(key)}\``);
    }
    expect(wrong).toEqual([]);
  });
});
