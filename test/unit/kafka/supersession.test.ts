import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { Supersession } from '../../../src/kafka/supersession.js';
import { SlidingWindowLimit } from '../../../src/kafka/rate-limit.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const logger = silentLogger();

describe('Supersession', () => {
  it('cancels the running create when a newer CLOSE of the same sliver arrives', () => {
    const s = new Supersession();
    const signal = s.started(event({ event_id: 'c', sequence: 1 }), new AbortController().signal);
    s.arrived(event({ event_id: 'd', sequence: 2, operation: 'CLOSE' }), logger);
    expect(signal.aborted).toBe(true);
    expect(String(signal.reason)).toContain('superseded by CLOSE d');
  });

  it('leaves it alone for an older (replayed) CLOSE, another sliver, a running modify or delete', () => {
    const s = new Supersession();
    const create = s.started(event({ event_id: 'c', sequence: 5 }), new AbortController().signal);
    s.arrived(event({ event_id: 'old', sequence: 2, operation: 'CLOSE' }), logger);
    s.arrived(event({ event_id: 'x', sliver_id: 's2', sequence: 9, operation: 'CLOSE' }), logger);
    expect(create.aborted).toBe(false);
    const s2 = new Supersession();
    const closing = s2.started(event({ event_id: 'd1', sequence: 1, operation: 'CLOSE' }), new AbortController().signal);
    s2.arrived(event({ event_id: 'd2', sequence: 2, operation: 'CLOSE' }), logger);
    expect(closing.aborted).toBe(false);
    const s3 = new Supersession();
    const modifying = s3.started(event({ event_id: 'm1', sequence: 1, operation: 'MODIFY' }), new AbortController().signal);
    s3.arrived(event({ event_id: 'd3', sequence: 2, operation: 'CLOSE' }), logger);
    expect(modifying.aborted).toBe(false);
  });
});

describe('Supersession and shutdown', () => {
  it('passes a shutdown on to running operations only, and lets go of finished ones', () => {
    const shutdown = new AbortController();
    const s = new Supersession();
    const done = event({ event_id: 'a', sliver_id: 'done', sequence: 1 });
    const doneSignal = s.started(done, shutdown.signal);
    s.finished(done);
    const running = s.started(event({ event_id: 'b', sliver_id: 'busy', sequence: 1 }), shutdown.signal);
    shutdown.abort(new Error('shutdown'));
    expect(running.aborted).toBe(true);
    expect(String(running.reason)).toContain('shutdown');
    expect(doneSignal.aborted).toBe(false); // its listener was removed when it finished
  });
});

describe('SlidingWindowLimit', () => {
  it('allows max events per window and forgets old ones', () => {
    let now = 0;
    const limit = new SlidingWindowLimit(2, 1000, () => now);
    expect([limit.tryTake(), limit.tryTake(), limit.tryTake()]).toEqual([true, true, false]);
    now = 1001;
    expect(limit.tryTake()).toBe(true);
  });
});
