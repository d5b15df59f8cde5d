import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { Service } from '../../src/service.js';
import { testConfig } from '../helpers/config.js';
import { kafkaBrokers, uniqueName } from '../helpers/kafka.js';
import { testTopics } from '../helpers/service.js';

// The race shows in some rounds only, so run many (RACE_ROUNDS overrides, for a quick look).
// Each round takes ~2.5 s, most of it the consumer group rebalance when the second member joins.
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 20);

function instance(topics: ReturnType<typeof testTopics>, groupId: string): Service {
  const config = testConfig({
    kafka: { brokers: kafkaBrokers(), group_id: groupId, topics, create_topics: true, partitions: 3, session_timeout: '10s' },
  });
  const level = process.env.AMH_TEST_LOG;
  return new Service({ config, logger: level ? createLogger({ level, destination: 2 }) : silentLogger() });
}

describe('two instances started at once on fresh topics', () => {
  it(`both start, ${ROUNDS} rounds in a row`, { timeout: 180_000 }, async () => {
    const failures: string[] = [];
    const began = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      // Fresh topics each round (the race is between creating them and using them), one group for both.
      const topics = testTopics();
      const group = uniqueName('race');
      const a = instance(topics, group);
      const b = instance(topics, group);
      const outcomes = await Promise.allSettled([a.start(), b.start()]);
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'rejected') failures.push(`round ${round}, instance ${'ab'[i]}: ${(outcome.reason as Error).message}`);
      });
      if (outcomes.every((o) => o.status === 'fulfilled')) expect([a.state, b.state]).toEqual(['running', 'running']);
      await Promise.all([a.stop(), b.stop()]);
    }
    console.log(`startup race: ${ROUNDS} rounds in ${((Date.now() - began) / 1000).toFixed(1)} s, ${failures.length} failed starts`);
    expect(failures).toEqual([]);
  });
});
