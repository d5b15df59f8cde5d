import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarmPool } from '../../src/ansible/index.js';
import type { PlaybookRunner, PlaybookRunResult } from '../../src/ansible/types.js';
import { playbooksDir } from '../../src/paths.js';
import { ansiblePlaybook, processesWith, testRunner, waitFor, warmAndBare } from '../helpers/ansible.js';

const WARM = resolve(import.meta.dirname, '../fixtures/warm');
const FIXTURES = resolve(import.meta.dirname, '../fixtures/playbooks');

/** The settings of one side (a or b): its own library, collections path, callback and environment. */
function side(name: 'a' | 'b', extra: Record<string, string> = {}): Record<string, string> {
  return {
    ANSIBLE_LIBRARY: join(WARM, `library-${name}`),
    ANSIBLE_COLLECTIONS_PATH: join(WARM, `collections-${name}`),
    ANSIBLE_CALLBACK_PLUGINS: `${playbooksDir('callback_plugins')}:${join(WARM, 'callback')}`,
    ...extra,
  };
}

let pool: WarmPool;
let warm: PlaybookRunner;
let bare: PlaybookRunner;
let scratch: string;
let close: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  // One zygote, short backoff: the replacement test waits for it.
  ({ pool, warm, bare, scratch, close } = await warmAndBare('amh-warm-iso-', { restartBackoffMs: 200 }));
}, 180_000);

afterAll(() => close());

const isolation = (runner: PlaybookRunner, env: Record<string, string>): Promise<PlaybookRunResult> =>
  runner({ playbook: join(WARM, 'isolation.yml'), extraVars: {}, env });

describe('warm runner: no run sees another run\'s environment or settings', () => {
  it('library, collections path, callbacks, settings and environment are each run\'s own, as in a bare run', async () => {
    const markerA = join(scratch, 'marker-a');
    const markerB = join(scratch, 'marker-b');
    const a = await isolation(warm, side('a', { ANSIBLE_CALLBACKS_ENABLED: 'amh_marker', AMH_MARKER_FILE: markerA, AMH_ISOLATION_PROBE: 'secret-of-a', ANSIBLE_FORKS: '3' }));
    const b = await isolation(warm, side('b', { AMH_MARKER_FILE: markerB }));
    expect(a.via).toBe('warm');
    expect(b.via).toBe('warm');
    expect(a.outcome, a.stderrTail).toBe('ok');
    expect(a.data).toMatchObject({ library: 'library-a', collection: 'collections-a', probe_env: 'secret-of-a', forks: '3', callbacks_enabled: ['amh_marker'] });
    expect(b.outcome, b.stderrTail).toBe('ok');
    expect(b.data).toMatchObject({ library: 'library-b', collection: 'collections-b', probe_env: '', forks: '5', callbacks_enabled: [] });
    expect(existsSync(markerA)).toBe(true); // a's callback ran in a...
    expect(existsSync(markerB)).toBe(false); // ...and not in b, which did not enable it
    // And b is what a bare run with b's settings reports.
    const bareB = await isolation(bare, side('b', { AMH_MARKER_FILE: markerB }));
    expect(bareB.via).toBe('spawn');
    expect(b.data).toEqual(bareB.data);
  }, 60_000);

  it('a setting Ansible reads only at import (colour, in ansible/utils/color.py) applies to its run and not to the next', async () => {
    // `name` is a reserved variable name: Ansible warns on stderr, in colour when forced.
    const run = (runner: PlaybookRunner, env: Record<string, string> = {}) =>
      runner({ playbook: join(FIXTURES, 'ok.yml'), extraVars: { name: 'x' }, env });
    const colour = { ANSIBLE_FORCE_COLOR: '1', ANSIBLE_NOCOLOR: '0' };
    const [bareColour, warmColour] = await Promise.all([run(bare, colour), run(warm, colour)]);
    const warmPlain = await run(warm);
    expect(warmColour.via).toBe('warm');
    expect(bareColour.stderrTail).toContain('\u001b[');
    expect(warmColour.stderrTail).toBe(bareColour.stderrTail);
    expect(warmPlain.stderrTail).toContain('reserved name');
    expect(warmPlain.stderrTail).not.toContain('\u001b[');
  }, 60_000);

  it('a run\'s exit does not remove the zygote\'s temp dir (the atexit handler Ansible registers at import)', async () => {
    const [zygote] = pool.pids();
    const home = readlinkSync(`/proc/${zygote}/cwd`);
    const before = readdirSync(join(home, 'tmp'));
    expect(before.some((d) => d.startsWith('ansible-local-'))).toBe(true);
    await warm({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {} });
    expect(readdirSync(join(home, 'tmp'))).toEqual(before);
  }, 30_000);

  it('a run killed mid-task leaves no lock behind: the next runs through the same zygote finish', async () => {
    const marker = `${700 + Math.floor(Math.random() * 100)}.${process.pid}`;
    const controller = new AbortController();
    const running = warm({ playbook: join(FIXTURES, 'sleep.yml'), extraVars: { marker }, signal: controller.signal, killGraceMs: 0 });
    await waitFor(() => processesWith(marker).length >= 3, 30_000, 'the sleeps to start');
    controller.abort();
    expect((await running).outcome).toBe('cancelled');
    const next = await Promise.all([1, 2].map(() => warm({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {}, timeoutMs: 30_000 })));
    expect(next.map((r) => [r.via, r.outcome])).toEqual([['warm', 'ok'], ['warm', 'ok']]);
  }, 60_000);
});

describe('warm runner: a dead zygote', () => {
  it('is replaced; runs are spawned meanwhile, and the pool says so', async () => {
    const fallbacks: string[] = [];
    const exits: number[] = [];
    pool.on('fallback', ({ reason }) => fallbacks.push(reason));
    pool.on('zygoteExit', ({ pid }) => exits.push(pid));
    const [old] = pool.pids();
    process.kill(old as number, 'SIGKILL');
    await waitFor(() => exits.includes(old as number), 10_000, 'the pool to notice');
    const meanwhile = await warm({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {} });
    expect(meanwhile.via).toBe('spawn');
    expect(meanwhile.outcome).toBe('ok');
    expect(fallbacks).toContain('no_zygote');
    await pool.whenReady(60_000);
    expect(pool.pids()).not.toContain(old);
    expect(pool.stats()[0]?.restarts).toBe(1);
    const after = await warm({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {} });
    expect(after.via).toBe('warm');
  }, 90_000);

  it('wedged (stopped, so it never answers): killed after fork_timeout, that run spawned, and replaced', async () => {
    // The directory a pool of a process killed with -9 left behind goes when the next pool starts there.
    const dead = spawnSync('true').pid;
    const left = join(scratch, 'wedged', `warm-${dead}-abc123`);
    mkdirSync(join(left, 'zygote-0', 'tmp'), { recursive: true });
    const wedgedPool = new WarmPool({ ansiblePlaybook: ansiblePlaybook(), workDir: join(scratch, 'wedged'), playbooksDir: playbooksDir(), restartBackoffMs: 200, forkTimeoutMs: 500 });
    try {
      await wedgedPool.whenReady(120_000);
      expect(existsSync(left)).toBe(false);
      const runner = (await testRunner({ warm: { pool: wedgedPool, default: true } })).runner;
      const fallbacks: string[] = [];
      wedgedPool.on('fallback', ({ reason }) => fallbacks.push(reason));
      const [stuck] = wedgedPool.pids();
      process.kill(stuck as number, 'SIGSTOP');
      const result = await runner({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {} });
      expect(result.via).toBe('spawn');
      expect(result.outcome).toBe('ok');
      expect(fallbacks).toEqual(['fork_failed']);
      await waitFor(() => { try { process.kill(stuck as number, 0); return false; } catch { return true; } }, 10_000, 'the wedged zygote to be killed');
      await wedgedPool.whenReady(60_000);
      expect(wedgedPool.pids()).not.toContain(stuck);
      expect((await runner({ playbook: join(FIXTURES, 'ok.yml'), extraVars: {} })).via).toBe('warm');
    } finally {
      await wedgedPool.stop();
    }
  }, 120_000);

  it('dying under a run: the run still ends with its own exit code (failed), nothing is left', async () => {
    const marker = `2.${process.pid}${Math.floor(Math.random() * 1000)}`;
    const running = warm({ playbook: join(WARM, 'sleep-then-fail.yml'), extraVars: { marker } });
    await waitFor(() => processesWith(marker).length >= 1, 30_000, 'the run to start its sleep');
    const [zygote] = pool.pids();
    process.kill(zygote as number, 'SIGKILL');
    const result = await running;
    expect(result.via).toBe('warm');
    expect(result.exitCode).toBe(2);
    expect(result.outcome).toBe('failed');
    expect(result.failedTask?.msg).toBe('failed after the sleep');
    expect(processesWith(marker)).toEqual([]);
    await pool.whenReady(60_000);
  }, 90_000);
});
