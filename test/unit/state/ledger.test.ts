import { describe, expect, it } from 'vitest';
import { AvroCodec, SchemaCatalog, type SliverEvent } from '../../../src/codec/index.js';
import { decide, emptyLedger, markInFlight, recordAnswer } from '../../../src/state/ledger.js';
import { vmEvent } from '../../helpers/events.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);
const event = (o: Record<string, unknown>): SliverEvent => codec.complete<'event'>(catalog.current('event'), vmEvent({ sliver_id: 's1', ...o } as never));
const reply = Buffer.from('reply');
const alive = () => true;
const dead = () => false;

describe('ledger decisions', () => {
  const create = event({ event_id: 'e1', sequence: 1 });
  const close = event({ event_id: 'e2', sequence: 2, operation: 'CLOSE' });

  it('runs what it has never seen', () => {
    expect(decide(undefined, create, 'me', alive)).toEqual({ kind: 'run', interrupted: null });
  });

  it('answers a redelivered event from the ledger', () => {
    const ledger = recordAnswer(emptyLedger('s1'), create, 'OK', reply, 10, 64);
    expect(decide(ledger, create, 'me', alive)).toMatchObject({ kind: 'duplicate', entry: { event_id: 'e1', reply } });
  });

  it('answers a create replayed after its delete as stale once its answer is no longer kept', () => {
    let ledger = recordAnswer(emptyLedger('s1'), create, 'OK', reply, 10, 1);
    ledger = recordAnswer(ledger, close, 'OK', reply, 11, 1); // keeps only the close
    expect(ledger.entries.map((e) => e.event_id)).toEqual(['e2']);
    expect(decide(ledger, create, 'me', alive)).toEqual({ kind: 'stale', appliedSequence: 2 });
  });

  it('does not let a REJECTED answer move the applied sequence', () => {
    const ledger = recordAnswer(emptyLedger('s1'), close, 'REJECTED', reply, 10, 64);
    expect(ledger.applied_sequence).toBe(-1);
    expect(decide(ledger, create, 'me', alive).kind).toBe('run');
  });

  it('waits for a live instance that is running an operation on the sliver', () => {
    const ledger = markInFlight(emptyLedger('s1'), create, 'other', 5);
    expect(decide(ledger, close, 'me', alive)).toMatchObject({ kind: 'wait', inFlight: { event_id: 'e1', owner: 'other' } });
  });

  it('reconciles an operation whose instance died', () => {
    const ledger = markInFlight(emptyLedger('s1'), create, 'crashed', 5);
    expect(decide(ledger, create, 'me', dead)).toMatchObject({ kind: 'run', interrupted: { event_id: 'e1', owner: 'crashed' } });
  });

  it('clears the in-flight mark when the answer is recorded, and bumps the version on every write', () => {
    const running = markInFlight(emptyLedger('s1'), create, 'me', 5);
    const done = recordAnswer(running, create, 'OK', reply, 6, 64);
    expect(running.version).toBe(1);
    expect(done).toMatchObject({ version: 2, in_flight: null, applied_sequence: 1 });
  });

  it('round-trips through the state schema', async () => {
    const ledger = recordAnswer(markInFlight(emptyLedger('s1'), create, 'me', 5), create, 'OK', reply, 6, 64);
    const { value } = await codec.decode('state', codec.encode('state', ledger));
    expect(value).toEqual(ledger);
  });
});
