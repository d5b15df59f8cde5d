import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ansiblePlaybook, processesWith, testRunner, waitFor } from '../helpers/ansible.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/playbooks');
const fixture = (name: string): string => join(FIXTURES, name);

/** A number of seconds unique to this test, so /proc lookups find only our sleeps. */
function uniqueMarker(): string {
  return `${600 + Math.floor(Math.random() * 300)}.${process.pid}${Date.now() % 1_000_000}`;
}

describe('ansible runner (real ansible-playbook)', () => {
  it('gets AMH_ANSIBLE_PLAYBOOK from the global setup', () => {
    // The worker's environment carries exactly what the setup found (not merely something).
    expect(process.env.AMH_ANSIBLE_PLAYBOOK).toBe(inject('ansiblePlaybook'));
    expect(existsSync(ansiblePlaybook())).toBe(true);
  });

  it('runs an ok playbook, returns custom stats, and removes the run directory', async () => {
    const { runner, workDir } = await testRunner();
    const result = await runner({
      playbook: fixture('ok.yml'),
      extraVars: { payload: 'hello' },
      env: { AMH_FIXTURE_ENV: 'from-request' },
    });
    expect(result.outcome, result.stderrTail).toBe('ok');
    expect(result.exitCode).toBe(0);
    expect(result.data).toMatchObject({ echo: 'hello', env_value: 'from-request' });
    // Modules run with the interpreter of the ansible install, not a discovered one.
    expect(String(result.data.python)).toMatch(/python/);
    expect(result.hostData).toEqual({ localhost: { seen: true } });
    expect(result.stats).toEqual([
      expect.objectContaining({ host: 'localhost', ok: 3, failures: 0, unreachable: 0 }),
    ]);
    expect(result.tasks.map((t) => [t.task, t.status])).toEqual([
      ['say hello', 'ok'],
      ['report', 'ok'],
      ['per host', 'ok'],
    ]);
    expect(result.failedTask).toBeUndefined();
    expect(result.durationMs).toBeGreaterThan(0);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('passes extra vars with shell metacharacters, quotes and templates through untouched', async () => {
    const { runner } = await testRunner();
    const canary = join(workDirOf(), `pwned-${process.pid}-${Date.now()}`);
    const payload = [
      `$(touch ${canary}) \`touch ${canary}\` ; touch ${canary} && echo | cat > /dev/null`,
      `"double" 'single' \\backslash\\ \n newline \t tab`,
      `{{ lookup('ansible.builtin.pipe', 'touch ${canary}') }} {% raw %} {{ 7 * 6 }}`,
      'ünïcödé ☃ 😀 \u0001 \u007f \u0085',
    ].join(' | ');
    const nested = { list: [1, 2.5, 1e-7, true, null, '{{ x }}'], 'key with spaces': { '-e': '@/etc/passwd' } };
    const result = await runner({ playbook: fixture('ok.yml'), extraVars: { payload, nested } });
    expect(result.outcome, result.stderrTail).toBe('ok');
    expect(result.data.echo).toBe(payload);
    expect(result.data.nested).toEqual(nested);
    expect(existsSync(canary)).toBe(false);
  });

  it('reports a failing task as failed, naming the first unignored, unrescued failure', async () => {
    const { runner } = await testRunner();
    const result = await runner({ playbook: fixture('fail.yml'), extraVars: { reason: 'disk on fire' } });
    expect(result.outcome).toBe('failed');
    expect(result.exitCode).toBe(2);
    expect(result.failedTask).toMatchObject({ task: 'explode', status: 'failed', msg: 'kaboom: disk on fire' });
    expect(result.tasks.find((t) => t.task === 'tolerated')).toMatchObject({ status: 'failed', ignoreErrors: true });
    expect(result.stats[0]).toMatchObject({ failures: 1, rescued: 1, ignored: 1 });
    expect(result.tasks.some((t) => t.task === 'never')).toBe(false);
  });

  it('cuts chatty results so no event exceeds 64 KiB, keeping the start of stdout', async () => {
    const { runner } = await testRunner();
    const result = await runner({ playbook: fixture('big-output.yml'), extraVars: {} });
    expect(result.outcome, result.stderrTail).toBe('ok');
    const [chatty, many] = result.tasks;
    expect(JSON.stringify(chatty!.result).length).toBeLessThan(64 * 1024);
    expect(String(chatty!.result.stdout)).toMatch(/^x{1000}.*\[\d+ chars truncated\]/s);
    expect(chatty!.result).not.toHaveProperty('stdout_lines');
    expect(JSON.stringify(many!.result).length).toBeLessThan(64 * 1024);
  });

  it('maps a playbook that cannot be parsed (exit 4, no host ran) to error with the stderr tail', async () => {
    const { runner } = await testRunner();
    const result = await runner({ playbook: fixture('broken.yml'), extraVars: {} });
    expect(result.outcome).toBe('error');
    expect(result.exitCode).toBe(4);
    expect(result.stderrTail).toMatch(/this_module_does_not_exist_anywhere/);
  });

  it('maps an unreachable host to unreachable', async () => {
    const { runner } = await testRunner();
    const result = await runner({
      playbook: fixture('unreachable.yml'),
      inventory: fixture('unreachable.ini'),
      extraVars: {},
    });
    expect(result.outcome, result.stderrTail).toBe('unreachable');
    expect(result.failedTask).toMatchObject({ host: 'nowhere', task: 'ping', status: 'unreachable' });
  });

  it('reports error (not a throw) when ansible-playbook cannot be started', async () => {
    const { runner, workDir } = await testRunner({ ansiblePlaybook: '/nonexistent/ansible-playbook' });
    const result = await runner({ playbook: fixture('ok.yml'), extraVars: {} });
    expect(result.outcome).toBe('error');
    expect(result.stderrTail).toMatch(/ENOENT|nonexistent/);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('kills the whole process group on timeout: timed_out, no sleep left', async () => {
    const { runner, workDir } = await testRunner();
    const marker = uniqueMarker();
    let sawSleep = false;
    const watcher = setInterval(() => (sawSleep ||= processesWith(marker).length > 0), 50);
    const result = await runner({ playbook: fixture('sleep.yml'), extraVars: { marker }, timeoutMs: 5000, killGraceMs: 2000 });
    clearInterval(watcher);
    expect(sawSleep).toBe(true);
    expect(result.outcome).toBe('timed_out');
    expect(result.durationMs).toBeLessThan(5000 + 2000 + 3000);
    expect(processesWith(marker)).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('kills the whole process group on abort: cancelled, no sleep left', async () => {
    const { runner, workDir } = await testRunner();
    const marker = uniqueMarker();
    const controller = new AbortController();
    const running = runner({ playbook: fixture('sleep.yml'), extraVars: { marker }, signal: controller.signal });
    try {
      // sh -c '...' and its two sleeps all carry the marker.
      await waitFor(() => processesWith(marker).length >= 3, 30_000, 'the shell and both sleeps to start');
    } finally {
      controller.abort(); // also when waiting failed: never leave a 10-minute sleep behind
    }
    const abortedAt = Date.now();
    const result = await running;
    expect(result.outcome).toBe('cancelled');
    expect(Date.now() - abortedAt).toBeLessThan(4000); // SIGTERM suffices; no 5 s SIGKILL wait
    expect(processesWith(marker)).toEqual([]);
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('runs a background playbook niced: ansible-playbook and the task processes it starts (reconciliation probes)', async () => {
    const { runner } = await testRunner();
    const marker = uniqueMarker();
    const controller = new AbortController();
    const niceOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
    const running = runner({ playbook: fixture('sleep.yml'), extraVars: { marker }, signal: controller.signal, nice: 7 });
    try {
      await waitFor(() => processesWith(marker).length >= 3, 30_000, 'the shell and both sleeps to start');
      // Niceness 7, or ours when we already run nicer (raising priority back would need privileges).
      const expected = Math.max(7, niceOf(process.pid));
      const pids = processesWith(marker);
      expect(pids.map(niceOf)).toEqual(pids.map(() => expected));
    } finally {
      controller.abort();
    }
    expect((await running).outcome).toBe('cancelled');
  });

  it('does not start a run whose signal is already aborted', async () => {
    const { runner, workDir } = await testRunner();
    const result = await runner({ playbook: fixture('ok.yml'), extraVars: {}, signal: AbortSignal.abort() });
    expect(result.outcome).toBe('cancelled');
    expect(result.exitCode).toBeNull();
    expect(readdirSync(workDir)).toEqual([]);
  });

  it('keeps the run directory when asked, with private extra vars and the inventory', async () => {
    const { runner } = await testRunner({ keepRunDirs: true });
    const result = await runner({ playbook: fixture('ok.yml'), extraVars: { payload: 'secret' } });
    expect(result.outcome, result.stderrTail).toBe('ok');
    const runDir = result.runDir!;
    expect(statSync(join(runDir, 'extravars.yml')).mode & 0o777).toBe(0o600);
    expect(statSync(runDir).mode & 0o777).toBe(0o700);
    expect(await readFile(join(runDir, 'extravars.yml'), 'utf8')).toContain('!unsafe "secret"');
    expect(JSON.parse(await readFile(join(runDir, 'inventory.yml'), 'utf8'))).toMatchObject({
      all: { hosts: { localhost: { ansible_connection: 'local' } } },
    });
  });
});

function workDirOf(): string {
  return process.env.TMPDIR ?? '/tmp';
}
