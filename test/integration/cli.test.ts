import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO } from '../helpers/config.js';
import { kafkaBrokers, uniqueName } from '../helpers/kafka.js';
import { createServiceTopics, testTopics } from '../helpers/service.js';

const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');

/** `amh` as a user runs it: the built CLI in a child process. */
function amh(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 120_000 });
}

describe('amh command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-cli-'));
  const topics = testTopics();
  const configFile = join(dir, 'amh.yaml');
  let consumer: ChildProcess | undefined;
  let consumerLog = '';

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    await createServiceTopics(topics);
    writeFileSync(
      configFile,
      stringify({
        kafka: { brokers: kafkaBrokers(), group_id: uniqueName('cli'), topics, create_topics: false },
        runtime: { work_dir: join(dir, 'runs') },
        http: { port: 0 },
        handlers: {
          vm: { plugin: 'vm', playbooks: { location: join(REPO, 'playbooks/sim') }, substrate: { state_dir: join(dir, 'sim') } },
        },
      }),
    );
  });

  afterAll(async () => {
    if (consumer && consumer.exitCode === null) {
      const exited = new Promise((r) => consumer?.once('exit', r));
      consumer.kill('SIGTERM');
      await exited;
    }
  });

  it('prints help for every subcommand', async () => {
    for (const sub of ['run', 'send', 'tail']) {
      const { stdout } = await amh([sub, '--help']);
      expect(stdout).toContain(`Usage: amh ${sub}`);
    }
  });

  it('refuses a bad config at start-up with the path of the problem and exit status 78', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'handlers:\n  vm:\n    timeouts: { CLOSE: soon }\n');
    const failure = await amh(['run', '--config', bad]).catch((err: { code: number; stderr: string }) => err);
    expect(failure).toMatchObject({ code: 78 });
    expect((failure as { stderr: string }).stderr).toContain('`handlers.vm.timeouts.CLOSE`: expected a duration like `15m`');
  });

  it('sends a redeem with `amh send`, provisions it with `amh run` and shows the reply with `amh tail`', async () => {
    consumer = spawn(process.execPath, [CLI, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    consumer.stderr?.on('data', (chunk: Buffer) => (consumerLog += chunk.toString()));

    const sent = await amh(['send', join(REPO, 'examples/vm-redeem.yaml'), '--config', configFile, '--sliver', 'cli-vm-1']);
    const { sent: eventId } = JSON.parse(sent.stdout.trim()) as { sent: string };
    const tail = await amh(['tail', '--config', configFile, '--from-beginning', '--event-id', eventId, '--count', '1', '--timeout', '90']).catch(
      (err: unknown) => {
        throw new Error(`amh tail failed: ${String(err)}\nconsumer log:\n${consumerLog}`);
      },
    );
    const reply = JSON.parse(tail.stdout.trim()) as { outcome: string; sliver_id: string; sliver: { management_ip: string } };
    expect(reply).toMatchObject({ outcome: 'OK', sliver_id: 'cli-vm-1' });
    expect(reply.sliver.management_ip).toMatch(/^10\.20\./);
    expect(existsSync(join(dir, 'sim', 'vms', 'cli-vm-1-node1.json'))).toBe(true);
  });

  it('stops gracefully on SIGTERM', async () => {
    expect(consumer?.exitCode).toBeNull();
    const exited = new Promise<number | null>((r) => consumer?.once('exit', (code) => r(code)));
    consumer?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(consumerLog).toContain('"msg":"stopped"');
  });
});
