import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { SliverEvent } from '../../../src/codec/types.js';
import { Monitor, type ServiceView } from '../../../src/observability/monitor.js';
import { TypedEmitter, type ServiceEvents } from '../../../src/observability/events.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { testConfig } from '../../helpers/config.js';
import { vmEvent } from '../../helpers/events.js';

const view: ServiceView = {
  instanceId: 'amh-test',
  state: () => 'running',
  failure: () => null,
  owned: () => [0],
  paused: () => [],
  running: () => 1,
  pending: () => 1,
  uncommitted: () => 0,
  restoring: () => [],
  runnerProblem: () => null,
  warmZygotes: () => [],
};

/** A monitor that is never started: no broker is probed, no port is opened. */
function monitor(httpEnabled: boolean): { monitor: Monitor; events: TypedEmitter<ServiceEvents> } {
  const events = new TypedEmitter<ServiceEvents>();
  const config = testConfig({ http: { enabled: httpEnabled } });
  return { monitor: new Monitor({ config, events, kafka: {} as Kafka, logger: silentLogger(), view, resourceTypes: ['VM'] }), events };
}

describe('Monitor', () => {
  it('keeps the status page model only where the page is served: with http.enabled false nothing builds its rows', async () => {
    const event = vmEvent() as unknown as SliverEvent;
    const served = monitor(true);
    served.events.emit('started', { event });
    expect(served.monitor.model?.snapshot().inFlight.map((r) => r.eventId)).toEqual([event.event_id]);

    const off = monitor(false);
    expect(off.monitor.model).toBeNull();
    // The events it would have listened to still reach the metrics.
    off.events.emit('queued', { event, topic: 't', partition: 0, offset: '0' });
    expect(await off.monitor.metrics.registry.getSingleMetricAsString('amh_events_consumed_total')).toMatch(/operation="REDEEM"} 1/);
    await Promise.all([served.monitor.stop(), off.monitor.stop()]);
  });
});
