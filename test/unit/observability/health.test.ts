import { describe, expect, it } from 'vitest';
import { liveness, readiness, type HealthInputs } from '../../../src/observability/health.js';

const NOW = 1_000_000;
const healthy = (over: Partial<HealthInputs> = {}): HealthInputs => ({
  now: NOW,
  state: 'running',
  failure: null,
  joined: true,
  consumerDead: null,
  producerConnected: true,
  broker: { ok: true, at: NOW - 1000 },
  restoring: [],
  runnerProblem: null,
  loops: [{ name: 'broker_probe', lastBeatAt: NOW - 1000, intervalMs: 5000 }],
  probeIntervalMs: 5000,
  ...over,
});

describe('readiness', () => {
  it('is ready when every check passes', () => {
    expect(readiness(healthy())).toEqual({
      status: 'ready',
      reasons: [],
      checks: { service: { ok: true }, broker: { ok: true }, group: { ok: true }, producer: { ok: true }, ledgers: { ok: true }, playbooks: { ok: true } },
    });
  });

  it.each([
    ['starting', { state: 'starting' }, 'service: the service is starting'],
    ['no probe yet', { broker: null }, 'broker: no broker probe answered yet'],
    ['broker down', { broker: { ok: false, at: NOW, error: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' } }, 'broker: the broker did not answer the last probe: Connection error: connect ECONNREFUSED 127.0.0.1:9092'],
    ['probe stale', { broker: { ok: true, at: NOW - 16_000 } }, 'broker: no broker probe answered for 16000 ms'],
    ['not joined', { joined: false }, 'group: the consumer is not in its group (not joined yet, or rejoining after a crash)'],
    ['producer', { producerConnected: false }, 'producer: the producer is not connected'],
    ['restoring', { restoring: [0, 2] }, 'ledgers: ledgers of partition(s) 0, 2 are still being restored'],
    ['ansible gone', { runnerProblem: '/opt/ansible-playbook is not an executable file' }, 'playbooks: /opt/ansible-playbook is not an executable file'],
  ] as const)('is not ready (%s) and says why', (_name, over, reason) => {
    const r = readiness(healthy(over as Partial<HealthInputs>));
    expect(r.status).toBe('not ready');
    expect(r.reasons).toEqual([reason]);
  });

  it('lists every failing check, in order', () => {
    const r = readiness(healthy({ state: 'failed', failure: 'dead-letter limit', joined: false }));
    expect(r.reasons).toEqual(['service: the service is failed: dead-letter limit', 'group: the consumer is not in its group (not joined yet, or rejoining after a crash)']);
  });
});

describe('liveness', () => {
  it('is ok while starting, running or stopping, whatever the broker does', () => {
    for (const state of ['starting', 'running', 'stopping'] as const) {
      expect(liveness(healthy({ state, broker: { ok: false, at: NOW, error: 'down' }, joined: false })).status).toBe('ok');
    }
  });

  it('fails when the service failed, the consumer died, or a loop stopped going round', () => {
    expect(liveness(healthy({ state: 'failed', failure: 'the consumer stopped' })).reasons).toEqual(['service: the service is failed: the consumer stopped']);
    expect(liveness(healthy({ consumerDead: 'KafkaJSNonRetriableError' })).reasons).toEqual(['consumer: the consumer stopped: KafkaJSNonRetriableError']);
    expect(liveness(healthy({ loops: [{ name: 'broker_probe', lastBeatAt: NOW - 40_000, intervalMs: 5000 }] })).reasons).toEqual([
      'broker_probe: no round for 40000 ms (every 5000 ms expected)',
    ]);
    expect(liveness(healthy({ loops: [{ name: 'broker_probe', lastBeatAt: 0, intervalMs: 5000 }] })).status).toBe('ok'); // not started yet
    // A short interval on a busy machine: a few missed rounds are not a stuck loop (liveness would restart the process).
    expect(liveness(healthy({ loops: [{ name: 'broker_probe', lastBeatAt: NOW - 3_000, intervalMs: 500 }] })).status).toBe('ok');
    expect(liveness(healthy({ loops: [{ name: 'broker_probe', lastBeatAt: NOW - 31_000, intervalMs: 500 }] })).status).toBe('failing');
  });
});
