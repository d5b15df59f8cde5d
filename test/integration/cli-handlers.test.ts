import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { HandlerListing } from '../../src/cli/handlers.js';
import { REPO } from '../helpers/config.js';

const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');

/** `amh handlers` as an operator runs it: the built CLI, a config of their own. No broker is contacted. */
describe('amh handlers (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-cli-handlers-'));
  const config = (location: string) => {
    const file = join(dir, `amh-${location.replaceAll('/', '_')}.yaml`);
    writeFileSync(file, stringify({ handlers: { network: { plugin: 'network', playbooks: { location } }, switch: { plugin: 'switch', playbooks: { location } } } }));
    return file;
  };
  const amh = (args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000 });

  it('prints JSON for machines with every type, its operations and playbooks', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    const { stdout } = await amh(['handlers', '--json', '--config', config(join(REPO, 'playbooks/sim'))]);
    const listing = JSON.parse(stdout) as HandlerListing[];
    expect(listing.find((r) => r.resourceType === 'PortMirror')).toMatchObject({ handler: 'network', operations: ['REDEEM', 'CLOSE', 'MODIFY', 'PROBE'] });
    expect(listing.flatMap((r) => r.playbooks).every((p) => p.exists)).toBe(true);
  });

  it('says which playbooks are missing, and --strict makes that exit 1', async () => {
    const nowhere = config(join(dir, 'no-playbooks-here'));
    const { stdout } = await amh(['handlers', '--config', nowhere]);
    expect(stdout).toMatch(/Switch  \(handler switch, plugin switch\)\n  operations: REDEEM, CLOSE, PROBE\n  Switch +\S+switch_create\.yml  MISSING/);
    expect(stdout).toMatch(/missing on disk: .*net_create\.yml/);
    const strict = await amh(['handlers', '--strict', '--config', nowhere]).catch((err: { code: number }) => err);
    expect(strict).toMatchObject({ code: 1 });
  });
});
