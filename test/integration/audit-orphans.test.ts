import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { DriftReport } from '../../src/codec/types.js';
import type { PlaybookRunner } from '../../src/ansible/types.js';
import { testRunner } from '../helpers/ansible.js';
import { REPO } from '../helpers/config.js';
import { vmEvent } from '../helpers/events.js';
import { createTopics, kafkaBrokers, kafkaClient, uniqueName } from '../helpers/kafka.js';
import { codec, resultOf, startTestService, type TestService } from '../helpers/service.js';
import { SimSubstrate, simHandlers } from '../helpers/sim-network.js';

/**
 * The orphan audit end to end, on the real broker and real ansible-playbook: a VM and an L2PTP placed in
 * the sim substrate by hand (and a VM re-created by hand after its sliver was closed) are reported on the
 * drift topic by the service's periodic audit and by the built `amh audit`; a VM the service provisioned is
 * not. With orphan repair on they are deleted once the grace period has passed; with it off nothing changes.
 */
const exec = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');
const INTERVAL_MS = 2_000;
const GRACE = '4s';

/** Every record of a drift topic as it arrives, with a waiter. */
class DriftWatch {
  readonly records: DriftReport[] = [];
  private consumer: Consumer | null = null;

  constructor(readonly topic: string) {}

  async start(): Promise<void> {
    this.consumer = kafkaClient('amh-test-drift').consumer({ groupId: uniqueName('drift'), maxWaitTimeInMs: 250 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const { value } = await codec.decode('drift', message.value);
        expect(message.key?.toString()).toBe(value.sliver_id);
        this.records.push(value);
      },
    });
  }

  async until(what: string, done: (records: DriftReport[]) => boolean, timeoutMs = 90_000): Promise<DriftReport[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.records)) {
      if (Date.now() > deadline) throw new Error(`drift topic: ${what} not seen within ${timeoutMs} ms; got ${JSON.stringify(this.records.map((r) => [r.kind, r.sliver_id, r.repair?.outcome]))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return this.records;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

interface Scenario {
  amh: TestService;
  stateDir: string;
  substrate: SimSubstrate;
  drift: DriftWatch;
  configFile: string;
  /** The VM the service provisioned (owned by its ledger). */
  owned: { sliverId: string; instance: string };
  /** Placed by hand: a VM and an L2PTP of slivers no ledger knows, and a VM of a sliver closed before. */
  orphans: { vm: { sliverId: string; instance: string }; net: { sliverId: string; name: string }; closed: { sliverId: string; instance: string } };
}

async function runPlaybook(runner: PlaybookRunner, file: string, extraVars: Record<string, unknown>): Promise<void> {
  const result = await runner({ playbook: join(REPO, 'playbooks/sim', file), extraVars });
  if (result.outcome !== 'ok') throw new Error(`${file}: ${result.outcome} ${result.failedTask?.msg ?? result.stderrTail}`);
}

async function startScenario(repair: boolean): Promise<Scenario> {
  const stateDir = mkdtempSync(join(tmpdir(), 'amh-audit-sim-'));
  const driftTopic = uniqueName('drift');
  await createTopics([driftTopic], 2);
  const handlers = simHandlers(stateDir).handlers as Record<string, Record<string, unknown>>;
  if (repair) {
    for (const h of ['vm', 'network', 'switch']) handlers[h] = { ...handlers[h], repair: { orphans: true, orphan_grace: GRACE } };
  }
  const amh = await startTestService(
    { handlers },
    {
      partitions: 2,
      configure: (config) => {
        config.kafka.topics.drift = driftTopic;
        config.audit.interval = INTERVAL_MS;
      },
    },
  );
  const drift = new DriftWatch(driftTopic);
  await drift.start();

  // A VM provisioned through the service, and one provisioned then closed (its ledger says closed).
  const owned = vmEvent();
  const closed = vmEvent();
  const close = { ...closed, event_id: randomUUID(), operation: 'CLOSE', sequence: 2, timestamp: Date.now() };
  await amh.send(owned, closed);
  expect((await resultOf(amh.topics.replies, String(owned.event_id))).outcome).toBe('OK');
  expect((await resultOf(amh.topics.replies, String(closed.event_id))).outcome).toBe('OK');
  await amh.send(close);
  expect((await resultOf(amh.topics.replies, String(close.event_id))).outcome).toBe('OK');

  // By hand, with the sim playbooks (real ansible-playbook), as an operator or a crashed tool would.
  const { runner } = await testRunner();
  const vmOrphan = { sliverId: `lost-${randomUUID().slice(0, 8)}`, instance: '' };
  vmOrphan.instance = `${vmOrphan.sliverId}-node1`;
  const flavor = { core: 1, ram: 2, disk: 5 };
  await runPlaybook(runner, 'vm_create.yml', { sliver_id: vmOrphan.sliverId, name: 'node1', worker: 'sim-worker-2', flavor, state_dir: stateDir });
  const closedSliver = String(closed.sliver_id);
  await runPlaybook(runner, 'vm_create.yml', { sliver_id: closedSliver, name: 'node1', worker: 'sim-worker-2', flavor, state_dir: stateDir });
  const netSliver = `lostnet-${randomUUID().slice(0, 8)}`;
  const netName = `l2ptp1-${netSliver}`;
  await runPlaybook(runner, 'net_create.yml', {
    state_dir: stateDir,
    service: {
      name: netName,
      sliver_id: netSliver,
      type: 'L2PTP',
      interfaces: [
        { name: 'ep-a', device: 'sim-sw-1', port: 'HundredGigE0/0/0/7', vlan: 321 },
        { name: 'ep-b', device: 'sim-sw-2', port: 'HundredGigE0/0/0/7', vlan: 321 },
      ],
    },
  });

  const configFile = join(mkdtempSync(join(tmpdir(), 'amh-audit-cli-')), 'amh.yaml');
  writeFileSync(
    configFile,
    stringify({
      kafka: { brokers: kafkaBrokers(), topics: { ...amh.topics, drift: driftTopic }, create_topics: false },
      runtime: { work_dir: join(stateDir, 'cli-runs') },
      logging: { level: 'warn' },
      http: { port: 0 },
      handlers: { ...simHandlers(stateDir).handlers, vm: { substrate: { state_dir: stateDir }, playbooks: { location: join(REPO, 'playbooks/sim') } } },
    }),
  );
  return {
    amh,
    stateDir,
    substrate: new SimSubstrate(stateDir),
    drift,
    configFile,
    owned: { sliverId: String(owned.sliver_id), instance: `${String(owned.sliver_id)}-node1` },
    orphans: { vm: vmOrphan, net: { sliverId: netSliver, name: netName }, closed: { sliverId: closedSliver, instance: `${closedSliver}-node1` } },
  };
}

/** `amh audit` as a user runs it; resolves with its exit status and output (non-zero is not an error here). */
async function amhAudit(configFile: string, json: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, 'audit', '-c', configFile, ...(json ? ['--json'] : [])], { timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const orphanSlivers = (s: Scenario) => [s.orphans.vm.sliverId, s.orphans.net.sliverId, s.orphans.closed.sliverId];
const reported = (s: Scenario) => (records: DriftReport[]) =>
  orphanSlivers(s).every((id) => records.some((r) => r.kind === 'ORPHAN' && r.sliver_id === id && r.repair === null));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
});

describe('orphan audit, repair off', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await startScenario(false);
  });
  afterAll(async () => {
    await s?.drift.stop();
    await s?.amh.stop();
  });

  it('reports the hand-placed VM and L2PTP and the VM of a closed sliver on the drift topic, not the VM the service owns', async () => {
    const records = await s.drift.until('an ORPHAN record of each orphan', reported(s));
    const byId = (id: string) => records.find((r) => r.kind === 'ORPHAN' && r.sliver_id === id) as DriftReport;
    expect(byId(s.orphans.vm.sliverId)).toMatchObject({ resource_type: 'VM', handler: 'vm', observed: 'EXISTS', repair: null, instance: s.amh.service.instanceId });
    expect(byId(s.orphans.vm.sliverId).differences[0]).toContain('no ledger knows that sliver');
    expect(JSON.parse(byId(s.orphans.vm.sliverId).found ?? '{}')).toMatchObject({ name: s.orphans.vm.instance, record: { worker: 'sim-worker-2' } });
    expect(byId(s.orphans.net.sliverId)).toMatchObject({ resource_type: 'L2PTP', handler: 'network' });
    expect(JSON.parse(byId(s.orphans.net.sliverId).found ?? '{}')).toMatchObject({ name: s.orphans.net.name });
    expect(byId(s.orphans.closed.sliverId).differences[0]).toContain('was closed at');
    expect(byId(s.orphans.closed.sliverId).applied_sequence).toBe(2);
    expect(records.some((r) => r.sliver_id === s.owned.sliverId)).toBe(false);
  });

  it('`amh audit --json` finds the same orphans over every partition and exits 1; the table says so too', async () => {
    const json = await amhAudit(s.configFile, true);
    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as { clean: boolean; partitions: number[]; orphans: DriftReport[]; drift: unknown[]; failures: unknown[]; listed: number };
    expect(report.clean).toBe(false);
    expect(report.partitions).toEqual([0, 1]);
    expect(report.failures).toEqual([]);
    expect(report.listed).toBe(4);
    expect(report.orphans.map((o) => o.sliver_id).sort()).toEqual([...orphanSlivers(s)].sort());
    const table = await amhAudit(s.configFile, false);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^KIND\s+TYPE\s+SLIVER/m);
    expect(table.stdout).toContain(`ORPHAN  L2PTP`);
    expect(table.stdout).toContain('0 drifted sliver(s), 3 orphan(s) among 4 substrate object(s), 2 partition(s)');
  });

  it('changes nothing: after several passes past the grace the orphans are still there and no repair was published', async () => {
    const passes = s.drift.records.length;
    await s.drift.until('three more passes', (r) => r.length >= passes + 9, 60_000);
    expect(s.drift.records.filter((r) => r.repair !== null)).toEqual([]);
    expect(s.substrate.vm(s.orphans.vm.instance)).toBeDefined();
    expect(s.substrate.vm(s.orphans.closed.instance)).toBeDefined();
    expect(s.substrate.service(s.orphans.net.name)).toBeDefined();
    expect(s.substrate.vm(s.owned.instance)).toBeDefined();
  });

  it('`amh audit` reports drift too: the VM the service owns, deleted by hand, is MISSING (probed once, nothing repaired)', async () => {
    const { runner } = await testRunner();
    await runPlaybook(runner, 'vm_delete.yml', { sliver_id: s.owned.sliverId, name: 'node1', state_dir: s.stateDir });
    const json = await amhAudit(s.configFile, true);
    expect(json.code, json.stderr).toBe(1);
    const report = JSON.parse(json.stdout) as { drift: DriftReport[]; failures: unknown[] };
    expect(report.failures).toEqual([]);
    expect(report.drift).toHaveLength(1);
    expect(report.drift[0]).toMatchObject({ kind: 'DRIFT', sliver_id: s.owned.sliverId, resource_type: 'VM', observed: 'MISSING', repair: null });
    const table = await amhAudit(s.configFile, false);
    expect(table.stdout).toContain('1 drifted sliver(s), 3 orphan(s)');
    expect(s.substrate.vm(s.owned.instance)).toBeUndefined();
  });
});

describe('orphan audit, repair on', () => {
  let s: Scenario;
  beforeAll(async () => {
    s = await startScenario(true);
  });
  afterAll(async () => {
    await s?.drift.stop();
    await s?.amh.stop();
  });

  it('deletes each orphan through its handler after the grace, publishes the repair and its reply, and leaves the owned VM', async () => {
    const seenAt = Date.now();
    await s.drift.until('a report of each orphan', reported(s));
    const records = await s.drift.until('a DELETE repair of each orphan', (r) =>
      orphanSlivers(s).every((id) => r.some((x) => x.sliver_id === id && x.repair?.action === 'DELETE' && x.repair.outcome === 'OK')),
    );
    // Not before the grace: the first report of an orphan starts its clock.
    const firstReport = (id: string) => records.findIndex((r) => r.sliver_id === id);
    const repairOf = (id: string) => records.find((r) => r.sliver_id === id && r.repair !== null) as DriftReport;
    for (const id of orphanSlivers(s)) {
      expect(repairOf(id).detected_at - records[firstReport(id)]!.detected_at).toBeGreaterThanOrEqual(4_000);
      expect(repairOf(id).repair?.event_id).toMatch(/^amh-orphan-repair:/);
    }
    expect(Date.now() - seenAt).toBeGreaterThanOrEqual(4_000);
    expect(s.substrate.vm(s.orphans.vm.instance)).toBeUndefined();
    expect(s.substrate.vm(s.orphans.closed.instance)).toBeUndefined();
    expect(s.substrate.service(s.orphans.net.name)).toBeUndefined();
    expect(s.substrate.vlansOf(s.orphans.net.name)).toEqual([]);
    expect(s.substrate.vm(s.owned.instance)).toBeDefined();
    // The repair answered like an event: its reply is on the reply topic, told apart by its event id.
    const reply = await resultOf(s.amh.topics.replies, String(repairOf(s.orphans.net.sliverId).repair?.event_id));
    expect(reply).toMatchObject({ operation: 'CLOSE', outcome: 'OK', sliver_id: s.orphans.net.sliverId, handler: 'network' });
    expect(records.filter((r) => r.sliver_id === s.owned.sliverId)).toEqual([]);
  });

  it('`amh audit` is clean afterwards (exit 0)', async () => {
    const json = await amhAudit(s.configFile, true);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ clean: true, orphans: [], failures: [], listed: 1 });
  });
});
