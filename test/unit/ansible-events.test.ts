import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnsibleEventParser, findFailedTask, parseEventLine, type AnsibleEvent } from '../../src/ansible/events.js';
import { classifyOutcome } from '../../src/ansible/outcome.js';
import type { HostStats, TaskResult } from '../../src/ansible/types.js';

// Recorded from ansible-core 2.18 with the amh_json callback (a playbook with
// ok, skipped, ignored, rescued and loop-failed tasks plus set_stats).
const RECORDED = readFileSync(resolve(import.meta.dirname, '../fixtures/ansible/recorded-events.jsonl'), 'utf8');

function parseAll(chunks: Iterable<string | Buffer>): AnsibleEventParser {
  const parser = new AnsibleEventParser();
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return parser;
}

function summary(p: AnsibleEventParser) {
  return { tasks: p.tasks, stats: p.stats, data: p.data, hostData: p.hostData, sawStats: p.sawStats };
}

describe('AnsibleEventParser', () => {
  it('turns the recorded stream into task results, stats and custom data', () => {
    const p = parseAll([RECORDED]);
    expect(p.tasks.map((t) => [t.task, t.status, t.ignoreErrors])).toEqual([
      ['say hello', 'changed', false],
      ['skip me', 'skipped', false],
      ['tolerated', 'failed', true],
      ['rescued', 'failed', false],
      ['recover', 'ok', false],
      ['report', 'ok', false],
      ['per host', 'ok', false],
      ['loop fails', 'failed', false],
    ]);
    expect(p.tasks[0]!.result).toMatchObject({ stdout: 'hello', rc: 0 });
    expect(p.tasks[0]!.result).not.toHaveProperty('invocation');
    expect(p.tasks[2]!.msg).toBe('ignored one');
    // A failed loop says why through its first failed item.
    expect(p.tasks[7]!.msg).toBe('item 2 is bad');
    expect(p.stats).toEqual<HostStats[]>([
      { host: 'localhost', ok: 5, changed: 1, failures: 1, unreachable: 0, skipped: 1, rescued: 1, ignored: 1 },
    ]);
    expect(p.data).toEqual({ vm: { instance_name: 's1-n1', management_ip: '10.20.0.2' }, count: 1 });
    expect(p.hostData).toEqual({ localhost: { seen: true } });
    expect(p.sawStats).toBe(true);
    expect(p.noise).toEqual([]);
  });

  it('tolerates lines that are not events and keeps the last ones for diagnostics', () => {
    const lines = RECORDED.split('\n');
    const garbage = [
      '[WARNING]: Found variable using reserved name: name',
      '{"not": "an event"}',
      '{"event": "runner_on_ok", "host": "loc', // truncated JSON
      'Traceback (most recent call last):',
      '',
      '   ',
      '[1, 2, 3]',
    ];
    const mixed = [...garbage.slice(0, 3), ...lines.slice(0, 5), ...garbage.slice(3), ...lines.slice(5)].join('\n');
    const p = parseAll([mixed]);
    expect(summary(p)).toEqual(summary(parseAll([RECORDED])));
    expect(p.noise).toEqual(garbage.filter((g) => g.trim() !== ''));
  });

  it('gives the same result however the stream is split, including inside multi-byte characters', () => {
    const bytes = Buffer.from(
      `${RECORDED}{"event":"runner_on_ok","host":"h","task":"ünï ☃ 😀","changed":false,"result":{"msg":"😀"},"msg":"😀"}\n`,
    );
    const whole = summary(parseAll([bytes]));
    expect(whole.tasks.at(-1)).toMatchObject({ task: 'ünï ☃ 😀', msg: '😀' });
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(summary(parseAll(chunks)), `chunks of ${size} bytes`).toEqual(whole);
    }
  });

  it('parses a last line that has no newline, at end()', () => {
    const p = new AnsibleEventParser();
    p.push('{"event":"stats","hosts":{"h":{"ok":1}},"custom":{"_run":{"x":1}}}');
    expect(p.sawStats).toBe(false);
    p.end();
    expect(p.sawStats).toBe(true);
    expect(p.stats[0]).toEqual({ host: 'h', ok: 1, changed: 0, failures: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 });
    expect(p.data).toEqual({ x: 1 });
  });

  it('reports every event to the listener in order', () => {
    const seen: string[] = [];
    const p = new AnsibleEventParser((e: AnsibleEvent) => seen.push(e.event));
    p.push(RECORDED);
    p.end();
    expect(seen[0]).toBe('playbook_start');
    expect(seen.at(-1)).toBe('stats');
    expect(seen).toContain('runner_item_on_failed');
  });

  it('parseEventLine accepts only objects with an event name', () => {
    expect(parseEventLine('  {"event":"play_start","play":"p"}  ')).toEqual({ event: 'play_start', play: 'p' });
    expect(parseEventLine('{"event": 3}')).toBeUndefined();
    expect(parseEventLine('null')).toBeUndefined();
    expect(parseEventLine('{oops')).toBeUndefined();
  });
});

describe('findFailedTask', () => {
  const task = (name: string, status: TaskResult['status'], host = 'h', ignoreErrors = false): TaskResult => ({
    host,
    task: name,
    status,
    result: {},
    ignoreErrors,
  });
  const stats = (host: string, failures: number, unreachable = 0): HostStats => ({
    host,
    ok: 0,
    changed: 0,
    failures,
    unreachable,
    skipped: 0,
    rescued: 0,
    ignored: 0,
  });

  it('skips ignored and rescued failures', () => {
    const p = parseAll([RECORDED]);
    expect(findFailedTask(p.tasks, p.stats)?.task).toBe('loop fails');
  });

  it('finds nothing when every failure was rescued', () => {
    const tasks = [task('rescued', 'failed'), task('fine', 'ok')];
    expect(findFailedTask(tasks, [stats('h', 0)])).toBeUndefined();
  });

  it('takes the first failure of the failures the recap counts, across hosts', () => {
    const tasks = [
      task('rescued-a', 'failed', 'a'),
      task('down', 'unreachable', 'b'),
      task('real-a', 'failed', 'a'),
      task('always-a', 'failed', 'a'),
    ];
    expect(findFailedTask(tasks, [stats('a', 2), stats('b', 0, 1)])?.task).toBe('down');
    expect(findFailedTask(tasks, [stats('a', 2), stats('b', 0)])?.task).toBe('real-a');
  });

  it('falls back to the first unignored failure without stats (killed run)', () => {
    const tasks = [task('ignored', 'failed', 'h', true), task('first', 'failed'), task('second', 'failed')];
    expect(findFailedTask(tasks, [])?.task).toBe('first');
  });
});

describe('classifyOutcome', () => {
  const unreachable: HostStats[] = [
    { host: 'h', ok: 0, changed: 0, failures: 0, unreachable: 1, skipped: 0, rescued: 0, ignored: 0 },
  ];
  it.each([
    [0, [], undefined, 'ok'],
    [2, [], undefined, 'failed'],
    [4, unreachable, undefined, 'unreachable'],
    [4, [], undefined, 'error'], // parse errors exit 4 too
    [1, [], undefined, 'error'],
    [250, [], undefined, 'error'],
    [null, [], undefined, 'error'], // killed by a signal we did not send
    [0, [], 'timeout', 'timed_out'], // our kill wins over the exit code
    [null, [], 'abort', 'cancelled'],
  ] as const)('exit %s, stats %j, stopped by %s -> %s', (code, hostStats, stoppedBy, expected) => {
    expect(classifyOutcome(code, hostStats, stoppedBy)).toBe(expected);
  });
});
