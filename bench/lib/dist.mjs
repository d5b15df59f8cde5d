// What rows need from the machine: the build, a broker, ansible-playbook.
// Each throws an Error saying why not, so the row shows "not run: <why>".

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ansiblePlaybook } from './machine.mjs';

/** A module of the build (default its public entry), or an Error saying to build. */
export async function loadDist(repo, file = 'index.js') {
  const entry = join(repo, 'dist', file);
  if (!existsSync(entry)) throw new Error('no build in dist/ (run npm run build)');
  return import(pathToFileURL(entry).href);
}

/** A kafkajs client; the broker must answer within a few seconds or the row is not run. */
export async function requireKafka(brokers, clientId = 'amh-bench') {
  const kafka = new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 1 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } catch (err) {
    throw new Error(`no Kafka broker answers at ${brokers.join(',')} (npm run kafka -- start, or set AMH_KAFKA_BROKERS): ${err.message}`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** The ansible-playbook the service would run, or an Error saying how to get one. */
export function requireAnsible(repo) {
  const bin = ansiblePlaybook(repo);
  if (!bin || !existsSync(bin)) throw new Error('no ansible-playbook (run npm run ansible:setup, or set AMH_ANSIBLE_PLAYBOOK)');
  return bin;
}
