import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type InFlight, type SliverEvent } from '../../../src/codec/index.js';
import { Executor } from '../../../src/dispatch/executor.js';
import { HandlerRegistry, type HandlerPlugin } from '../../../src/handlers/index.js';
import { vmPlugin } from '../../../src/handlers/vm/index.js';
import type { VmSettings } from '../../../src/handlers/vm/settings.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { runEvent } from '../../../src/pipeline/03-run.js';
import { testConfig } from '../../helpers/config.js';
import { vmEvent } from '../../helpers/events.js';
import { fakeRunner, untilAborted } from '../../helpers/fake-runner.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const logger = silentLogger();

/** A VM plugin whose probe hangs until its signal aborts and whose create answers at once, remembering its signal. */
function plugin(seen: AbortSignal[]): HandlerPlugin<VmSettings> {
  return {
    ...vmPlugin,
    async probe(_e, ctx) {
      await untilAborted(ctx.signal);
      return { sliver: { observed: 'UNKNOWN' } };
    },
    async create(_e, ctx) {
      seen.push(ctx.signal);
      return { message: 'created' };
    },
  };
}

const interrupted: InFlight = { event_id: 'e-0', sequence: 1, operation: 'REDEEM', owner: 'dead', started_at: 1, expires_at: 2 };

describe('runEvent', () => {
  it("runs the operation under the caller's own controller, and an interrupted event's probe that times out does not abort it", async () => {
    const seen: AbortSignal[] = [];
    const registry = HandlerRegistry.fromConfig(testConfig({ handlers: { vm: { timeouts: { PROBE: '30ms', REDEEM: '10s' } } } }), [plugin(seen)]);
    const executor = new Executor({ registry, runner: fakeRunner(), killGraceMs: 100 });
    const event: SliverEvent = codec.complete<'event'>(catalog.current('event'), vmEvent({} as never));
    const controller = new AbortController();
    const result = await runEvent(executor, event, interrupted, { logger, signal: controller.signal, controller });
    expect(result.outcome).toBe('OK');
    expect(result.message).toContain('not probed (TIMED_OUT)');
    // The create ran on the operation's own signal (no second controller), and nothing aborted it.
    expect(seen).toEqual([controller.signal]);
    expect(controller.signal.aborted).toBe(false);
  });
});
