import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { Executor } from '../../../src/dispatch/executor.js';
import { join } from 'node:path';
import { HandlerRegistry, type HandlerPlugin } from '../../../src/handlers/index.js';
import { vmPlugin } from '../../../src/handlers/vm/index.js';
import type { VmSettings } from '../../../src/handlers/vm/settings.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { testConfig } from '../../helpers/config.js';
import { vmEvent } from '../../helpers/events.js';
import { fakeRunner, untilAborted } from '../../helpers/fake-runner.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const logger = silentLogger();

function event(overrides: Record<string, unknown> = {}): SliverEvent {
  return codec.complete<'event'>(catalog.current('event'), vmEvent(overrides as never));
}

/**
 * The executor is under test here, not the VM plugin (that is test/unit/handlers/vm-*.test.ts):
 * the VM plugin's settings and validation, with a create that is a single playbook run.
 */
const oneStepVm: HandlerPlugin<VmSettings> = {
  name: vmPlugin.name,
  description: 'VM plugin reduced to one playbook per operation',
  resourceTypes: vmPlugin.resourceTypes,
  settingsSchema: vmPlugin.settingsSchema,
  inventory: vmPlugin.inventory,
  playbooks: vmPlugin.playbooks,
  validate: vmPlugin.validate,
  async create(e, ctx) {
    const sliver = e.node_sliver;
    const run = await ctx.runPlaybook(join(ctx.config.playbooks.location, ctx.config.playbooks.VM), {
      sliver_id: e.sliver_id,
      instance_name: `${e.sliver_id}-${sliver?.name ?? 'vm'}`,
      worker: sliver?.worker ?? null,
      flavor: sliver?.capacities ?? null,
      ssh_keys: e.slice.user_ssh_keys.map((k) => k.key),
    });
    const vm = (run.data.vm ?? {}) as { instance_name?: string; management_ip?: string };
    return { sliver: { instance_name: vm.instance_name ?? null, management_ip: vm.management_ip ?? null, observed: 'EXISTS' } };
  },
  async delete() {
    return {};
  },
};

function executor(runner = fakeRunner(), extra: Record<string, Record<string, unknown>> = {}) {
  const registry = HandlerRegistry.fromConfig(testConfig(extra), [oneStepVm]);
  return new Executor({ registry, runner, killGraceMs: 100 });
}

describe('Executor', () => {
  it('runs the VM create playbook with the event as extra vars and reports the management IP', async () => {
    const runner = fakeRunner(() => ({
      data: { vm: { instance_name: 's1-node1', management_ip: '10.20.0.7', worker: 'sim-worker-1' } },
    }));
    const result = await executor(runner).execute(event({ sliver_id: 's1' }), { logger, messageKey: 's1' });

    expect(result).toMatchObject({ outcome: 'OK', result_code: 0, sliver_id: 's1', sequence: 1, handler: 'vm' });
    expect(result.sliver).toMatchObject({ management_ip: '10.20.0.7', instance_name: 's1-node1', observed: 'EXISTS' });
    expect(result.host_stats).toEqual([expect.objectContaining({ host: 'localhost', ok: 3, changed: 1 })]);
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]?.playbook).toMatch(/playbooks\/sim\/vm_create\.yml$/);
    expect(runner.calls[0]?.extraVars).toMatchObject({
      sliver_id: 's1',
      instance_name: 's1-node1',
      worker: 'sim-worker-1',
      flavor: { core: 2, ram: 8, disk: 10 },
      ssh_keys: ['ssh-ed25519 AAAAC3Nza test'],
    });
  });

  it('answers an unknown resource type REJECTED, naming the known types, without running anything', async () => {
    const runner = fakeRunner();
    const result = await executor(runner).execute(event({ resource_type: 'Quantum' }), { logger });
    expect(result).toMatchObject({ outcome: 'REJECTED', result_code: -2, error_code: 'UNKNOWN_RESOURCE_TYPE' });
    expect(result.message).toContain('known types: VM');
    expect(runner.calls).toHaveLength(0);
  });

  it('rejects a create that breaks the reference rules before any playbook runs', async () => {
    const runner = fakeRunner();
    const noWorker = event({ node_sliver: { name: 'n', image: 'default_rocky_9', capacities: { core: 1, ram: 1, disk: 1 } } });
    const tooBig = event({ node_sliver: { name: 'n', worker: 'w', image: 'default_rocky_9', capacities: { core: 999, ram: 1, disk: 1 } } });
    const e = executor(runner, { handlers: { vm: { runtime: { max_flavor: { core: 64, ram: 384, disk: 4000 } } } } });
    expect((await e.execute(noWorker, { logger })).message).toContain('node_sliver.worker');
    expect((await e.execute(tooBig, { logger })).message).toContain('core 999 > 64');
    expect(runner.calls).toHaveLength(0);
  });

  it('rejects a message whose key is not its sliver id', async () => {
    const result = await executor().execute(event({ sliver_id: 's1' }), { logger, messageKey: 'other' });
    expect(result).toMatchObject({ outcome: 'REJECTED' });
    expect(result.message).toContain("message key 'other' differs from sliver_id 's1'");
  });

  it('rejects an operation the handler does not implement, listing what it supports', async () => {
    const result = await executor().execute(event({ operation: 'PROBE' }), { logger });
    expect(result.outcome).toBe('REJECTED');
    expect(result.message).toContain('supported: REDEEM, CLOSE');
  });

  it('reports a failed playbook as FAILED with the step that failed', async () => {
    const runner = fakeRunner(() => ({
      outcome: 'failed',
      exitCode: 2,
      failedTask: { host: 'localhost', task: 'boot', status: 'failed', msg: 'worker is full', result: {}, ignoreErrors: false },
    }));
    const result = await executor(runner).execute(event(), { logger });
    expect(result).toMatchObject({ outcome: 'FAILED', result_code: -1, error_code: 'PLAYBOOK_FAILED', failed_step: 'vm_create.yml: boot' });
    expect(result.message).toContain('worker is full');
  });

  it('kills a run that outlives the operation timeout and answers TIMED_OUT', async () => {
    const runner = fakeRunner((req) => untilAborted(req.signal));
    const result = await executor(runner, { handlers: { vm: { timeouts: { REDEEM: '50ms' } } } }).execute(event(), { logger });
    expect(result.outcome).toBe('TIMED_OUT');
    expect(result.result_code).toBe(-3);
    expect(runner.calls[0]?.signal?.aborted).toBe(true);
  });

  it('answers CANCELLED when the caller cancels', async () => {
    const controller = new AbortController();
    const runner = fakeRunner((req) => untilAborted(req.signal));
    const pending = executor(runner).execute(event(), { logger, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('superseded by CLOSE e-2')), 20);
    const result = await pending;
    expect(result.outcome).toBe('CANCELLED');
    expect(result.message).toContain('superseded by CLOSE e-2');
  });

  it("with the operation's own controller: its playbooks run on that signal, a timeout aborts it and answers TIMED_OUT", async () => {
    const controller = new AbortController();
    const runner = fakeRunner((req) => untilAborted(req.signal));
    const result = await executor(runner, { handlers: { vm: { timeouts: { REDEEM: '50ms' } } } }).execute(event(), { logger, signal: controller.signal, controller });
    expect(result.outcome).toBe('TIMED_OUT');
    expect(runner.calls[0]?.signal).toBe(controller.signal);
    expect((controller.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it("with the operation's own controller: the caller's abort answers CANCELLED with its reason, and an operation that ends leaves it unaborted", async () => {
    const controller = new AbortController();
    const pending = executor(fakeRunner((req) => untilAborted(req.signal))).execute(event(), { logger, signal: controller.signal, controller });
    setTimeout(() => controller.abort(new Error('superseded by CLOSE e-2')), 20);
    const result = await pending;
    expect(result.outcome).toBe('CANCELLED');
    expect(result.message).toContain('superseded by CLOSE e-2');

    const quick = new AbortController();
    const ok = await executor(fakeRunner(), { handlers: { vm: { timeouts: { REDEEM: '30ms' } } } }).execute(event(), { logger, signal: quick.signal, controller: quick });
    expect(ok.outcome).toBe('OK');
    await new Promise((r) => setTimeout(r, 60)); // past the deadline: its timer was cleared when the operation ended
    expect(quick.signal.aborted).toBe(false);
  });

  it('turns an exception inside the runner into a FAILED result instead of throwing', async () => {
    const runner = fakeRunner(() => {
      throw new Error('spawn ansible-playbook ENOENT');
    });
    const result = await executor(runner).execute(event(), { logger });
    expect(result).toMatchObject({ outcome: 'FAILED', error_code: 'EXCEPTION' });
    expect(result.message).toContain('ENOENT');
  });

  describe('retries', () => {
    const fastRetry = { handlers: { vm: { retry: { attempts: 3, backoff_initial: '1ms', backoff_max: '5ms' } } } };
    const unreachable = { outcome: 'unreachable' as const, exitCode: 4, failedTask: { host: 'w1', task: 'boot', status: 'unreachable' as const, msg: 'ssh: connect timed out', result: {}, ignoreErrors: false } };

    it('retries a transient failure in place and reports the attempts', async () => {
      let calls = 0;
      const runner = fakeRunner(() => (++calls < 3 ? unreachable : { data: { vm: { management_ip: '10.20.0.9' } } }));
      const result = await executor(runner, fastRetry).execute(event(), { logger });
      expect(result).toMatchObject({ outcome: 'OK', attempts: 3 });
      expect(runner.calls).toHaveLength(3);
    });

    it('retries a step that marks itself retriable, and gives up after the configured attempts', async () => {
      const runner = fakeRunner(() => ({
        outcome: 'failed',
        exitCode: 2,
        failedTask: { host: 'localhost', task: 'boot', status: 'failed', msg: 'substrate API timeout', result: { retriable: true }, ignoreErrors: false },
      }));
      const result = await executor(runner, fastRetry).execute(event(), { logger });
      expect(result).toMatchObject({ outcome: 'FAILED', attempts: 3, failed_step: 'vm_create.yml: boot' });
      expect(runner.calls).toHaveLength(3);
    });

    it('does not retry a permanent failure', async () => {
      const runner = fakeRunner(() => ({
        outcome: 'failed',
        exitCode: 2,
        failedTask: { host: 'localhost', task: 'boot', status: 'failed', msg: 'no capacity', result: {}, ignoreErrors: false },
      }));
      const result = await executor(runner, fastRetry).execute(event(), { logger });
      expect(result).toMatchObject({ outcome: 'FAILED', attempts: 1 });
      expect(runner.calls).toHaveLength(1);
    });
  });

  it('passes the handler\'s inventory_location to every playbook run', async () => {
    const runner = fakeRunner();
    await executor(runner, { handlers: { vm: { playbooks: { inventory_location: '/etc/amh/workers.ini' } } } }).execute(event(), { logger });
    expect(runner.calls[0]?.inventory).toBe('/etc/amh/workers.ini');
    const local = fakeRunner();
    await executor(local).execute(event(), { logger });
    expect(local.calls[0]?.inventory).toBeUndefined(); // the runner generates a localhost inventory
  });

  it('reports a step the substrate refused (it names an error_code) as SUBSTRATE, with the code in the message', async () => {
    const runner = fakeRunner(() => ({
      outcome: 'failed',
      exitCode: 2,
      failedTask: { host: 'localhost', task: 'boot', status: 'failed', msg: 'no room', result: { error_code: 'no_capacity' }, ignoreErrors: false },
    }));
    const result = await executor(runner).execute(event(), { logger });
    expect(result).toMatchObject({ outcome: 'FAILED', error_code: 'SUBSTRATE', failed_step: 'vm_create.yml: boot' });
    expect(result.message).toContain('(no_capacity): no room');
  });
});
