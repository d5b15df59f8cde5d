import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/observability/logger.js';
import { emptyLedger } from '../../../src/state/ledger.js';
import { LocalLedgers } from '../../../src/state/local-ledgers.js';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';

/** The store keeps ledgers as their state-topic bytes. */
const CODEC = new AvroCodec(SchemaCatalog.load());

// Two instances on one host with the same runtime.ledger_dir (or two services in one
// process) must not both own a store: the owner wipes what it cannot trust and keeps
// staged writes in its own memory.
describe('one owner per local ledger store', () => {
  const root = mkdtempSync(join(tmpdir(), 'amh-owner-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('a second open in the same process is refused, naming the directory, until the first closes', async () => {
    const dir = join(root, 'same-process');
    const first = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await first.write(0, new Map([['s1', { ...emptyLedger('s1'), version: 1 }]]), 3n);
    await expect(Promise.resolve().then(() => LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger()))).rejects.toThrow(/runtime.ledger_dir: .*same-process is in use/);
    expect(first.get('s1')?.version).toBe(1);
    await first.close();
    const again = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    expect(again.checkpoint(0)).toBe(3n);
    await again.close();
  });

  it('a store another process holds is refused; once that process is killed with -9 it opens at once', async () => {
    const dir = join(root, 'other-process');
    const holder = spawn(join(process.cwd(), 'node_modules/.bin/vite-node'), ['test/fixtures/hold-ledger-store.ts', dir, 'amh.state'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
      expect(line.toString()).toContain('held');
      await expect(Promise.resolve().then(() => LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger()))).rejects.toThrow(/in use/);
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    const store = await LocalLedgers.open(dir, 'amh.state', CODEC, silentLogger());
    await store.close();
  });

  it('openFree: a second instance on the same directory takes the first free slot (dir.1, ...), and each keeps its own store for its next start', async () => {
    const dir = join(root, 'slots');
    const a = await LocalLedgers.openFree(dir, 'amh.state', CODEC, silentLogger());
    const b = await LocalLedgers.openFree(dir, 'amh.state', CODEC, silentLogger());
    expect([a.dir, b.dir]).toEqual([dir, `${dir}.1`]);
    await b.write(1, new Map([['only-b', { ...emptyLedger('only-b'), version: 2 }]]), 5n);
    expect(a.get('only-b')).toBeUndefined();
    await expect(Promise.resolve().then(() => LocalLedgers.openFree(dir, 'amh.state', CODEC, silentLogger(), 2))).rejects.toThrow(/slots are all in use/);
    await b.close();
    const again = await LocalLedgers.openFree(dir, 'amh.state', CODEC, silentLogger());
    expect(again.dir).toBe(`${dir}.1`);
    expect(again.get('only-b')?.version).toBe(2);
    await Promise.all([a.close(), again.close()]);
  });
});
