// Vitest globalSetup for the integration project: makes sure a Kafka broker
// is reachable before any test file runs, and hands its address to the test
// workers. Runs once per `vitest run`, in the main process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Comma-separated bootstrap servers; read it through kafkaBrokers(). */
    kafkaBrokers: string;
  }
}

const kafkaScript = fileURLToPath(new URL('../../scripts/kafka.sh', import.meta.url));

/** Runs `bash scripts/kafka.sh <args>`; progress goes to our stderr so stdout stays for test reporters. */
function runKafkaScript(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [kafkaScript, ...args], { stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export default async function setup({ provide }: Pick<TestProject, 'provide'>): Promise<() => Promise<void>> {
  const external = process.env.AMH_KAFKA_BROKERS;
  if (external) {
    // Someone else owns the broker (CI service, a dev's own cluster): don't touch it.
    provide('kafkaBrokers', external);
    return async () => {};
  }

  // Only stop at teardown what we started: a broker a developer left running
  // (`npm run kafka start`) keeps running for the next test run.
  const wasRunning = (await runKafkaScript(['status'])) === 0;
  if (!wasRunning) {
    const code = await runKafkaScript(['start']);
    if (code !== 0) throw new Error(`scripts/kafka.sh start failed (exit ${code}); see output above`);
  }

  const brokers = `127.0.0.1:${process.env.AMH_KAFKA_PORT ?? '9092'}`;
  // Both channels: forked workers inherit process.env (vitest copies it when it
  // starts the pool, which is after globalSetup), and `provide` also reaches
  // workers in pools that don't inherit the environment.
  process.env.AMH_KAFKA_BROKERS = brokers;
  provide('kafkaBrokers', brokers);

  return async () => {
    delete process.env.AMH_KAFKA_BROKERS;
    if (!wasRunning) await runKafkaScript(['stop']);
  };
}
