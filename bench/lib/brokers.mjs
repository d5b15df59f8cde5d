// The Kafka bootstrap servers every bench talks to: AMH_KAFKA_BROKERS (comma-separated), default the local broker.

/** @param {NodeJS.ProcessEnv} [env] */
export function benchBrokers(env = process.env) {
  return (env.AMH_KAFKA_BROKERS || '127.0.0.1:9092').split(',').map((b) => b.trim()).filter(Boolean);
}
