import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CheckResult } from '../../src/doctor/types.js';
import { REPO } from '../helpers/config.js';
import { createTopics, kafkaBrokers, uniqueName } from '../helpers/kafka.js';

const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'amh-doctor-'));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI as an operator runs it; resolves with the exit status instead of throwing on a non-zero one. */
async function amh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function doctor(config: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []): Promise<{ code: number; checks: Map<string, CheckResult> }> {
  const { code, stdout, stderr } = await amh(['doctor', '--json', '--config', config, ...extra], env);
  const report = JSON.parse(stdout || `{"checks":[],"stderr":${JSON.stringify(stderr)}}`) as { ok: boolean; checks: CheckResult[] };
  expect(report.ok).toBe(code === 0);
  return { code, checks: new Map(report.checks.map((c) => [c.id, c])) };
}

const failed = (checks: Map<string, CheckResult>) => [...checks.values()].filter((c) => c.status === 'fail').map((c) => c.id);

/**
 * A demo-like setup of its own: the sim playbooks copied to a temp folder (so a test can remove one), the network
 * handler on the production playbooks (whose requirements.yml makes the collections check real), own topic names.
 */
function writeConfig(name: string, topics: Record<string, string>, partitions = 2): { file: string; playbooks: string } {
  const playbooks = join(dir, `${name}-playbooks`);
  cpSync(join(REPO, 'playbooks/sim'), playbooks, { recursive: true });
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafkaBrokers(), topics, partitions },
      runtime: { work_dir: join(dir, name, 'runs'), ledger_dir: join(dir, name, 'ledgers') },
      logging: { level: 'warn' },
      handlers: {
        vm: { plugin: 'vm', playbooks: { location: playbooks }, substrate: { state_dir: join(dir, name, 'sim') } },
        network: { plugin: 'network', playbooks: { location: join(REPO, 'playbooks/production') } },
      },
    }),
  );
  return { file, playbooks };
}

const topicNames = (prefix: string) => ({
  events: uniqueName(`${prefix}-events`),
  replies: uniqueName(`${prefix}-replies`),
  dead_letter: uniqueName(`${prefix}-dlq`),
  state: uniqueName(`${prefix}-state`),
  drift: uniqueName(`${prefix}-drift`),
});

describe('amh doctor and amh topics create (built CLI)', () => {
  const demo = writeConfig('demo', topicNames('doctor'));

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    const created = await amh(['topics', 'create', '--config', demo.file]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.match(/^created /gm)).toHaveLength(5);
  });

  it('passes every check after `amh topics create`, which is idempotent', async () => {
    const { code, checks } = await doctor(demo.file);
    expect(failed(checks)).toEqual([]);
    expect(code).toBe(0);
    expect([...checks.keys()]).toEqual(['config', 'schemas', 'handler:vm', 'handler:network', 'ansible', 'collections', 'broker', 'topic:events', 'topic:replies', 'topic:dead_letter', 'topic:state']);
    expect(checks.get('topic:state')?.detail).toMatch(/: 2 partitions, cleanup\.policy=compact$/);
    expect(checks.get('topic:events')?.detail).toMatch(/: 2 partitions, cleanup\.policy=delete$/);
    expect(checks.get('collections')?.detail).toMatch(/openstack\.cloud \d/);
    expect(checks.get('ansible')?.detail).toMatch(/ansible-core 2\.\d+/);

    const again = await amh(['topics', 'create', '--config', demo.file]);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/^exists /gm)).toHaveLength(4);
  });

  it('fails naming the playbook when one is removed', async () => {
    const broken = writeConfig('removed', topicNames('doctor-removed'));
    rmSync(join(broken.playbooks, 'vm_reboot.yml'));
    // The same topics as the passing setup: only the playbook differs.
    const { code, checks } = await doctor(demo.file, { AMH_HANDLERS__VM__PLAYBOOKS__LOCATION: broken.playbooks });
    expect(code).toBe(1);
    expect(failed(checks)).toEqual(['handler:vm']);
    expect(checks.get('handler:vm')?.detail).toBe(`missing: ${join(broken.playbooks, 'vm_reboot.yml')} (handlers.vm.playbooks.operation.reboot)`);
  });

  it('fails naming the broker when it is down, and skips the topic checks', async () => {
    const started = Date.now();
    const { code, checks } = await doctor(demo.file, { AMH_KAFKA__BROKERS: '127.0.0.1:9' }, ['--timeout', '3']);
    expect(code).toBe(1);
    expect(failed(checks)).toEqual(['broker']);
    expect(checks.get('broker')).toMatchObject({ title: 'broker reachable (127.0.0.1:9)' });
    expect(checks.get('broker')?.detail).toMatch(/ECONNREFUSED 127\.0\.0\.1:9/);
    expect(checks.get('topic:state')?.status).toBe('skip');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('fails naming ansible-playbook when it is missing or too old', async () => {
    const missing = await doctor(demo.file, { AMH_ANSIBLE_PLAYBOOK: join(dir, 'no-such', 'ansible-playbook') });
    expect(missing.code).toBe(1);
    expect(failed(missing.checks)).toEqual(['ansible']);
    expect(missing.checks.get('ansible')?.detail).toBe(`${join(dir, 'no-such', 'ansible-playbook')} (AMH_ANSIBLE_PLAYBOOK) is not an executable file: run scripts/ensure-ansible.sh or fix the path`);
    expect(missing.checks.get('collections')?.status).toBe('skip');

    const old = join(dir, 'old-ansible-playbook');
    writeFileSync(old, '#!/bin/sh\necho "ansible-playbook [core 2.9.27]"\n');
    chmodSync(old, 0o755);
    const tooOld = await doctor(demo.file, { AMH_RUNTIME__ANSIBLE_PLAYBOOK: old, AMH_ANSIBLE_PLAYBOOK: '' });
    expect(failed(tooOld.checks)).toEqual(['ansible']);
    expect(tooOld.checks.get('ansible')?.detail).toMatch(/is ansible-core 2\.9\.27; at least 2\.14 is needed/);
  });

  it('fails a state topic that is not compacted or not co-partitioned; topics create reports it too', async () => {
    const topics = topicNames('doctor-wrong');
    await createTopics([topics.events, topics.replies, topics.dead_letter, topics.drift], 2);
    await createTopics([topics.state], 3);
    const wrong = writeConfig('wrong', topics);
    const { code, checks } = await doctor(wrong.file);
    expect(code).toBe(1);
    expect(failed(checks)).toEqual(['topic:state']);
    expect(checks.get('topic:state')?.detail).toBe(
      `${topics.state}: cleanup.policy is delete, expected compact (the ledgers must outlive retention); 3 partitions, the events topic ${topics.events} has 2: they must be co-partitioned`,
    );
    const created = await amh(['topics', 'create', '--config', wrong.file]);
    expect(created.code).toBe(1);
    expect(created.stdout).toMatch(/FAIL  topic state .*cleanup\.policy is delete, expected compact/);
  });

  it('reports a config that does not load as the first failed check, naming the variable', async () => {
    const { code, checks } = await doctor(demo.file, { AMH_CONSUMER__CONCURRENCY: 'lots' });
    expect(code).toBe(1);
    expect(checks.get('config')?.detail).toMatch(/`consumer\.concurrency`: expected number, got "lots" \(from env AMH_CONSUMER__CONCURRENCY\)/);
    expect(checks.get('schemas')?.status).toBe('pass');
    expect(checks.get('broker')?.status).toBe('skip');
  });
});
