import { defineConfig } from 'vitest/config';

// Three groups, run one after another (sequence.groupOrder), all against one
// Kafka broker and one ansible-playbook that the global setups start once per
// run (unless AMH_KAFKA_BROKERS / AMH_ANSIBLE_PLAYBOOK point elsewhere):
//   0. unit tests with fakes, and the integration tests of handlers and the
//      pipeline, two files at a time (each file has its own topics, group ids
//      and substrate directory, so they do not see each other);
//   1. the fault tests (kill -9, shutdown, rebalance, start-up race), two at a
//      time: they mostly wait on timers and the broker;
//   2. the network-fault tests, alone: their windows (a 10 s cut, a session
//      timeout) are timed against a machine that is not busy with anything else.
const globalSetup = ['test/helpers/ansible-global-setup.ts', 'test/helpers/kafka-global-setup.ts', 'test/helpers/chromium-global-setup.ts'];
const faults = [
  'test/integration/crash.test.ts',
  // kill -9 while batched writes linger (kafka.write_batch.linger).
  'test/integration/crash-batch.test.ts',
  'test/integration/delivery.test.ts',
  'test/integration/delivery-core-rebalance.test.ts',
  'test/integration/delivery-core-shutdown.test.ts',
  'test/integration/ledgers-child-restore.test.ts',
  // Starts (and stops) its own secure broker.
  'test/integration/kafka-security.test.ts',
  'test/integration/startup-race.test.ts',
  'test/integration/vm-wipe-crash.test.ts',
  'test/integration/http-readiness.test.ts',
  // Drift must be reported within one reconcile interval (a few seconds).
  'test/integration/reconcile.test.ts',
  // Kills and stops warm runner zygotes, one of them during a run's 2 s window.
  'test/integration/warm-runner-isolation.test.ts',
];
const network = ['test/integration/faults-proxy.test.ts'];
const integration = {
  globalSetup,
  // Ends a test file whose event loop stops turning (timeouts cannot fire then), saying where.
  setupFiles: ['test/helpers/stall-watchdog.ts'],
  testTimeout: 120_000,
  hookTimeout: 180_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    // Two cores here: at most two test files at a time, whatever the group.
    poolOptions: { forks: { maxForks: 2, minForks: 1 }, threads: { maxThreads: 2, minThreads: 1 } },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      {
        test: {
          ...integration,
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...faults, ...network],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...integration,
          name: 'faults',
          include: faults,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          ...integration,
          name: 'network-faults',
          include: network,
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
