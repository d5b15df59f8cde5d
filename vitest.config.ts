import { defineConfig } from 'vitest/config';

// Two tiers: fast unit tests with fakes, and integration tests against a real
// Kafka broker and a real ansible-playbook (started once per run by the
// global setups unless AMH_KAFKA_BROKERS / AMH_ANSIBLE_PLAYBOOK point elsewhere).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/ansible-global-setup.ts', 'test/helpers/kafka-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Tests share one broker and one machine of 2 cores: one worker runs the files one after another.
          pool: 'forks',
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
});
