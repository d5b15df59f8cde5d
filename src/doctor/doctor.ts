import type { ResolvedConfig } from '../config/index.js';
import { errorMessage } from '../errors/index.js';
import { checkAnsible, checkCollections } from './ansible.js';
import { checkKafka } from './kafka.js';
import { checkConfig, checkHandlerFiles, checkSchemas } from './local.js';
import { fail, skip, type CheckResult } from './types.js';

export interface DoctorOptions {
  /** How long the broker checks may take in all. */
  brokerTimeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Every check `amh doctor` makes, in a fixed order: config, schemas, each handler's files, ansible-playbook, the
 * collections, the broker and each topic. `load` is how the config is read (a failure there is the first check's
 * result and skips the checks that need the config). The Ansible and Kafka checks run side by side.
 */
export async function runDoctor(load: () => ResolvedConfig, options: DoctorOptions): Promise<CheckResult[]> {
  let config: ResolvedConfig;
  try {
    config = load();
  } catch (err) {
    return [
      fail('config', 'config valid', errorMessage(err)),
      checkSchemas(),
      ...['handlers', 'ansible', 'collections', 'broker', 'topics'].map((id) => skip(id, id, 'needs a valid config')),
    ];
  }
  const { result: configResult, registry } = checkConfig(config);
  const ansible = (async () => {
    const { result, path } = await checkAnsible(config, options.env);
    const collections = registry ? await checkCollections(registry, path) : skip('collections', 'Ansible collections the playbooks need', 'needs a valid config');
    return [result, collections];
  })();
  const kafka = checkKafka(config, options.brokerTimeoutMs);
  return [
    configResult,
    checkSchemas(),
    ...(registry ? checkHandlerFiles(registry) : [skip('handlers', 'handler playbooks and inventory present', 'needs a valid config')]),
    ...(await ansible),
    ...(await kafka),
  ];
}

/** `ok   config valid: ...` lines and a summary, for people. */
export function formatReport(results: readonly CheckResult[]): string {
  const mark = { pass: 'ok  ', fail: 'FAIL', skip: 'skip' } as const;
  const lines = results.map((r) => `${mark[r.status]}  ${r.title}: ${r.detail}`);
  const failed = results.filter((r) => r.status === 'fail');
  lines.push('', failed.length === 0 ? `all ${results.length} checks passed` : `${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.id).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export function passed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}
