/**
 * /healthz and /readyz as pure functions of what the service knows now, so
 * every rule has a unit test. A check has `ok` and, when not ok, `reason`:
 * a sentence for the operator reading the JSON body.
 */
export interface Check {
  ok: boolean;
  reason?: string;
}

export interface HealthReport {
  status: 'ok' | 'failing' | 'ready' | 'not ready';
  checks: Record<string, Check>;
  /** The reasons of the failing checks, in check order. */
  reasons: string[];
}

/** A background loop that reports each round (supervised: it records errors and keeps going). */
export interface LoopBeat {
  name: string;
  /** When it last finished a round (ms since the epoch), 0 before the first. */
  lastBeatAt: number;
  /** The round it should keep to; it counts as stuck after three of them without a beat (and never before 30 s). */
  intervalMs: number;
  /** Set once the loop has stopped for good. */
  stopped?: string;
}

export interface HealthInputs {
  now: number;
  /** The service's lifecycle state. */
  state: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';
  failure: string | null;
  /** The consumer's group join is current: it joined, and has not crashed since (kafkajs restarts a crashed consumer). */
  joined: boolean;
  /** The consumer stopped for good (a crash kafkajs does not restart). */
  consumerDead: string | null;
  producerConnected: boolean;
  /** The last broker probe: null before the first. */
  broker: { ok: boolean; at: number; error?: string } | null;
  /** Owned partitions whose ledgers are not restored yet. */
  restoring: number[];
  /** Why playbooks cannot run, or null. */
  runnerProblem: string | null;
  loops: LoopBeat[];
  probeIntervalMs: number;
}

function report(checks: Record<string, Check>, good: 'ok' | 'ready', bad: 'failing' | 'not ready'): HealthReport {
  const reasons = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name, c]) => `${name}: ${c.reason ?? 'failing'}`);
  return { status: reasons.length === 0 ? good : bad, checks, reasons };
}

const pass: Check = { ok: true };
const fail = (reason: string): Check => ({ ok: false, reason });

/**
 * How long a loop may go without a round before liveness fails, whatever its interval: a short interval
 * (tests use 500 ms) on a busy machine misses a few rounds without being stuck, and a liveness failure
 * makes an orchestrator restart the process, which must not happen because the event loop was busy.
 */
export const MIN_STUCK_MS = 30_000;

/** Liveness: the process answers (or this would not run), the service has not failed, its loops go round. */
export function liveness(i: HealthInputs): HealthReport {
  const checks: Record<string, Check> = {
    service: i.state === 'failed' || i.state === 'stopped' ? fail(`the service is ${i.state}${i.failure ? `: ${i.failure}` : ''}`) : pass,
    consumer: i.consumerDead ? fail(`the consumer stopped: ${i.consumerDead}`) : pass,
  };
  for (const loop of i.loops) {
    const stuckFor = i.now - loop.lastBeatAt;
    if (loop.stopped) checks[loop.name] = fail(`stopped: ${loop.stopped}`);
    else if (loop.lastBeatAt > 0 && stuckFor > Math.max(3 * loop.intervalMs, MIN_STUCK_MS)) checks[loop.name] = fail(`no round for ${stuckFor} ms (every ${loop.intervalMs} ms expected)`);
    else checks[loop.name] = pass;
  }
  return report(checks, 'ok', 'failing');
}

/** Readiness: running, in its group, producer connected, broker answering, ledgers restored, playbooks runnable. */
export function readiness(i: HealthInputs): HealthReport {
  const { broker } = i;
  const staleAfter = 3 * i.probeIntervalMs;
  const checks: Record<string, Check> = {
    service: i.state === 'running' ? pass : fail(`the service is ${i.state}${i.failure ? `: ${i.failure}` : ''}`),
    broker:
      broker === null
        ? fail('no broker probe answered yet')
        : !broker.ok
          ? fail(`the broker did not answer the last probe: ${broker.error ?? 'unknown error'}`)
          : i.now - broker.at > staleAfter
            ? fail(`no broker probe answered for ${i.now - broker.at} ms`)
            : pass,
    group: i.joined ? pass : fail('the consumer is not in its group (not joined yet, or rejoining after a crash)'),
    producer: i.producerConnected ? pass : fail('the producer is not connected'),
    ledgers: i.restoring.length === 0 ? pass : fail(`ledgers of partition(s) ${i.restoring.join(', ')} are still being restored`),
    playbooks: i.runnerProblem === null ? pass : fail(i.runnerProblem),
  };
  return report(checks, 'ready', 'not ready');
}
