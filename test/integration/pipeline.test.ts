import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../src/results/dead-letter.js';
import { vmEvent } from '../helpers/events.js';
import { withAdmin } from '../helpers/kafka.js';
import { catalog, startTestService, type TestService } from '../helpers/service.js';

// Real broker, real ansible-playbook, sim substrate: the README's promise end to end.
describe('pipeline: Kafka in, Ansible out, reply on Kafka', () => {
  let amh: TestService;

  beforeAll(async () => {
    amh = await startTestService();
  });

  afterAll(async () => {
    await amh?.stop();
  });

  it('creates a VM on redeem and deletes it on close, answering OK each time', async () => {
    const redeem = vmEvent({ sliver_id: 'vm-lifecycle' });
    await amh.send(redeem);
    const [created] = await amh.replies(1);
    expect(created).toMatchObject({ event_id: redeem.event_id, operation: 'REDEEM', outcome: 'OK', result_code: 0, sequence: 1 });
    expect(created?.sliver?.management_ip).toMatch(/^10\.20\.\d+\.\d+$/);
    expect(created?.sliver?.instance_name).toBe('vm-lifecycle-node1');
    expect(created?.host_stats[0]?.host).toBe('localhost');
    expect(amh.vm('vm-lifecycle-node1')).toMatchObject({ management_ip: created?.sliver?.management_ip });

    const close = vmEvent({ sliver_id: 'vm-lifecycle', operation: 'CLOSE', sequence: 2 });
    await amh.send(close);
    const closed = (await amh.replies(2))[1];
    expect(closed).toMatchObject({ event_id: close.event_id, operation: 'CLOSE', outcome: 'OK', sequence: 2 });
    expect(amh.vm('vm-lifecycle-node1')).toBeUndefined();
  });

  it('answers an unknown resource type REJECTED, naming the known types', async () => {
    const event = vmEvent({ sliver_id: 'quantum-1', resource_type: 'QuantumComputer' });
    await amh.send(event);
    const reply = (await amh.replies(3))[2];
    expect(reply).toMatchObject({ event_id: event.event_id, outcome: 'REJECTED', error_code: 'UNKNOWN_RESOURCE_TYPE' });
    expect(reply?.message).toContain('known types: VM');
  });

  it('dead-letters garbage bytes with the reason and keeps consuming', async () => {
    const { produceRaw } = await import('../helpers/kafka.js');
    const garbage = Buffer.from('definitely not avro \x00\x01\x02');
    await produceRaw(amh.topics.events, [{ key: 'junk-1', value: garbage, headers: { origin: 'test' } }]);
    const next = vmEvent({ sliver_id: 'after-garbage', resource_type: 'Nothing' });
    await amh.send(next);

    const [letter] = await amh.deadLetters(1);
    expect(letter?.value).toEqual(garbage);
    expect(letter?.key?.toString()).toBe('junk-1');
    expect(letter?.headers?.origin?.toString()).toBe('test');
    expect(letter?.headers?.[DLQ_HEADERS.reason]?.toString()).toMatch(/unknown framing/);
    expect(letter?.headers?.[DLQ_HEADERS.topic]?.toString()).toBe(amh.topics.events);

    const reply = (await amh.replies(4))[3];
    expect(reply?.event_id).toBe(next.event_id);
  });

  it('decodes an event written with the older v1 schema and provisions it', async () => {
    const v1 = catalog.versions('event').find((v) => v.version === 1)!;
    const event = vmEvent({ sliver_id: 'old-producer' });
    await amh.sendWith(v1, event);
    const reply = (await amh.replies(5))[4];
    expect(reply).toMatchObject({ event_id: event.event_id, outcome: 'OK', trace_id: null });
    expect(amh.vm('old-producer-node1')).toBeDefined();
  });

  it('commits each offset only after its reply is published', async () => {
    await amh.service.lanes.onIdle();
    const expected = 6; // redeem, close, unknown type, garbage, after-garbage, v1 redeem
    await expect
      .poll(
        () => withAdmin(async (admin) => {
          const [topic] = await admin.fetchOffsets({ groupId: amh.config.kafka.group_id, topics: [amh.topics.events] });
          return topic?.partitions[0]?.offset;
        }),
        { timeout: 15_000, interval: 250 },
      )
      .toBe(String(expected));
  });
});
