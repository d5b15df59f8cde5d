import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog } from '../../src/codec/index.js';
import type { SliverEvent } from '../../src/codec/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { ProgressPublisher } from '../../src/results/progress-publisher.js';

const codec = new AvroCodec(SchemaCatalog.load());
const event = { event_id: 'e1', sliver_id: 's1', slice_id: 'sl', resource_type: 'VM', operation: 'REDEEM' } as SliverEvent;
const progress = { event, playbook: 'vm_create.yml', task: 'boot', host: 'localhost', taskIndex: 2, taskCount: 9, step: 1, play: 'vm_create' };

describe('ProgressPublisher', () => {
  it('publishes each progress keyed by sliver id, decodable with the progress schema', async () => {
    const sent: { topic: string; key: string; value: Buffer }[] = [];
    const producer = {
      send: async (r: { topic: string; messages: { key: string; value: Buffer }[] }) => {
        for (const m of r.messages) sent.push({ topic: r.topic, ...m });
        return [];
      },
    };
    const publisher = new ProgressPublisher({ producer, codec, topic: 'p', instanceId: 'i1', logger: silentLogger(), now: () => 42 });
    publisher.onProgress(progress);
    await publisher.flush();
    expect(sent.map((s) => [s.topic, s.key])).toEqual([['p', 's1']]);
    const { value } = await codec.decode('progress', sent[0]!.value);
    expect(value).toEqual({
      event_id: 'e1', sliver_id: 's1', slice_id: 'sl', resource_type: 'VM', operation: 'REDEEM', step: 1, playbook: 'vm_create.yml',
      play: 'vm_create', task: 'boot', host: 'localhost', task_index: 2, task_count: 9, timestamp: 42, instance: 'i1',
    });
  });

  it('never holds up the operation: failures are counted and warned about, excess records dropped', async () => {
    const warnings: unknown[] = [];
    const logger = { ...silentLogger(), warn: (o: unknown) => warnings.push(o) } as never;
    let release: () => void = () => {};
    const blocked = new Promise<void>((r) => (release = r));
    const producer = { send: async () => { await blocked; throw new Error('broker gone'); } };
    const publisher = new ProgressPublisher({ producer, codec, topic: 'p', instanceId: 'i', logger, maxInFlight: 2 });
    for (let i = 0; i < 5; i++) publisher.onProgress(progress);
    release();
    await publisher.flush();
    // One warning per 30 s, with the counts so far; the sends in flight then failed quietly (counted for the next warning).
    expect(warnings).toEqual([{ topic: 'p', failed: 0, dropped: 1 }]);
  });
});
