import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ServiceEvents } from '../../src/observability/events.js';
import { REPO } from '../helpers/config.js';
import { collectMessages, createTopics, kafkaBrokers, sleep, uniqueName } from '../helpers/kafka.js';
import { codec, startTestService, type TestService } from '../helpers/service.js';
import { gpu, vmWith } from '../helpers/sim.js';

const CLI = join(REPO, 'dist/cli/main.js');

// Live progress end to end: the service publishes each task start of a VM
// create (real ansible-playbook on the sim substrate) on the progress topic,
// and the built `amh tail --follow`, in its own process with stdout a pipe,
// prints one line per task start (n of m) and then the result.
describe('live progress on the progress topic and in amh tail --follow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-progress-'));
  const progress = uniqueName('progress');
  let topics: TestService['topics'] & { progress: string };
  let amh: TestService;
  const emitted: ServiceEvents['progress'][0][] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    await createTopics([progress], 1);
    amh = await startTestService({}, { configure: (config) => (config.kafka.topics.progress = progress) });
    topics = { ...amh.topics, progress };
    amh.service.events.on('progress', (p) => emitted.push(p));
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('tail --follow shows each task start of each playbook (n of m, host) and then the result', async () => {
    const configFile = join(dir, 'tail.yaml');
    writeFileSync(configFile, stringify({ kafka: { brokers: kafkaBrokers(), topics }, handlers: { vm: {} } }));
    const tail = spawn(process.execPath, [CLI, 'tail', '--follow', '--from-beginning', '-c', configFile, '--count', '1', '--timeout', '150'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    tail.stdout.on('data', (c: Buffer) => (out += c.toString()));
    tail.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => tail.once('exit', resolve));
    try {
      for (let waited = 0; !err.includes('following'); waited += 100) {
        if (waited > 60_000 || tail.exitCode !== null) throw new Error(`tail did not start following:\n${err}`);
        await sleep(100);
      }
      // A VM with a GPU: the create playbook, then the component's and the reboot's.
      const sliver = uniqueName('vm');
      const event = vmWith(sliver, [gpu()]);
      await amh.send(event);
      expect(await exited, err).toBe(0);

      const lines = out.trim().split('\n');
      const create = lines.filter((l) => l.startsWith(`progress ${sliver} REDEEM VM step 1 vm_create.yml task `));
      // Every task of the create playbook, in order, each "n/m" of the same m, on the sim's host.
      const steps = create.map((l) => /task (\d+)\/(\d+) (\S+) on (\S+)$/.exec(l)!.slice(1));
      const count = Number(steps[0]?.[1]);
      expect(count).toBeGreaterThan(3);
      expect(steps.map((s) => Number(s[0]))).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      expect(new Set(steps.map((s) => Number(s[1])))).toEqual(new Set([count]));
      expect(new Set(steps.map((s) => s[3]))).toEqual(new Set(['localhost']));
      expect(steps.map((s) => s[2])).toContain('boot');
      // Later playbooks of the same operation are later steps.
      expect(lines.some((l) => new RegExp(`^progress ${sliver} REDEEM VM step [2-9]\\d* \\S+\\.yml task \\d+/\\d+ `).test(l))).toBe(true);
      // The result comes last, after all the progress.
      expect(lines.at(-1)).toMatch(new RegExp(`^result ${sliver} REDEEM VM OK in \\d+`));
      expect(lines.filter((l) => l.startsWith('progress ')).length).toBe(lines.length - 1);
      // What tail showed is what the service emitted, one line per emission.
      expect(lines.length - 1).toBe(emitted.filter((p) => p.event.sliver_id === sliver).length);
    } finally {
      if (tail.exitCode === null) tail.kill('SIGTERM');
    }
  });

  it('the progress records are keyed by sliver id and decode with the progress schema', async () => {
    const messages = await collectMessages(topics.progress, { count: emitted.length });
    const first = messages[0]!;
    const { value } = await codec.decode('progress', first.value);
    expect(first.key?.toString()).toBe(value.sliver_id);
    expect(value).toMatchObject({ operation: 'REDEEM', resource_type: 'VM', step: 1, playbook: 'vm_create.yml', task_index: 1, host: 'localhost', instance: amh.service.instanceId });
    expect(value.task_count).toBeGreaterThan(3);
  });
});
