import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { envNameFor, loadConfig } from '../../../src/config/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';

function configFile(doc: Record<string, unknown> = { handlers: { vm: {} } }): string {
  const file = join(mkdtempSync(join(tmpdir(), 'amh-env-')), 'amh.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}
const load = (env: NodeJS.ProcessEnv, doc?: Record<string, unknown>) => loadConfig({ path: configFile(doc), env });

describe('environment overrides', () => {
  it('AMH_<SECTION>__<KEY> sets any config path, converted by the schema type', () => {
    const config = load({
      AMH_KAFKA__BROKERS: 'k1:9092, k2:9093',
      AMH_KAFKA__GROUP_ID: 'site-a',
      AMH_KAFKA__TOPICS__EVENTS: 'site-a.events',
      AMH_KAFKA__TOPICS__STATE: 'site-a.state',
      AMH_KAFKA__PARTITIONS: '12',
      AMH_KAFKA__CREATE_TOPICS: 'false',
      AMH_KAFKA__SESSION_TIMEOUT: '45s',
      AMH_KAFKA__STARTUP_TIMEOUT: '90000',
      AMH_CONSUMER__CONCURRENCY: '32',
      AMH_CONSUMER__DEAD_LETTER_LIMIT__MAX: '7',
      AMH_LOGGING__LEVEL: 'warn',
      AMH_RUNTIME__ANSIBLE_PLAYBOOK: '/opt/ansible/bin/ansible-playbook',
    });
    expect(config.kafka.brokers).toEqual(['k1:9092', 'k2:9093']);
    expect(config.kafka.group_id).toBe('site-a');
    expect(config.kafka.topics).toEqual({ events: 'site-a.events', replies: 'amh.replies', dead_letter: 'amh.events.dlq', state: 'site-a.state', drift: 'amh.drift', progress: null });
    expect(config.kafka.partitions).toBe(12);
    expect(config.kafka.create_topics).toBe(false);
    expect(config.kafka.session_timeout).toBe(45_000);
    expect(config.kafka.startup_timeout).toBe(90_000);
    expect(config.consumer.concurrency).toBe(32);
    expect(config.consumer.dead_letter_limit).toEqual({ max: 7, window: 60_000 });
    expect(config.logging.level).toBe('warn');
    expect(config.runtime.ansible_playbook).toBe('/opt/ansible/bin/ansible-playbook');
  });

  it('keeps the short names of earlier releases working; the generic name wins when both are set', () => {
    const config = load({ AMH_KAFKA_BROKERS: 'a:1,b:2', AMH_GROUP_ID: 'g', AMH_SCHEMA_REGISTRY_URL: 'http://reg:8081', AMH_LOG_LEVEL: 'debug', AMH_LOG_FORMAT: 'json', AMH_ANSIBLE_PLAYBOOK: '/x/ansible-playbook' });
    expect(config.logging.format).toBe('json');
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.kafka.group_id).toBe('g');
    expect(config.kafka.schema_registry.url).toBe('http://reg:8081');
    expect(config.logging.level).toBe('debug');
    expect(config.runtime.ansible_playbook).toBe('/x/ansible-playbook');
    expect(load({ AMH_GROUP_ID: 'old', AMH_KAFKA__GROUP_ID: 'new' }).kafka.group_id).toBe('new');
  });

  it('overrides the file, and an empty variable changes nothing', () => {
    const doc = { kafka: { group_id: 'from-file', partitions: 6 }, handlers: { vm: {} } };
    expect(load({ AMH_KAFKA__GROUP_ID: 'from-env' }, doc).kafka.group_id).toBe('from-env');
    expect(load({ AMH_KAFKA__GROUP_ID: '', AMH_KAFKA__PARTITIONS: '' }, doc).kafka).toMatchObject({ group_id: 'from-file', partitions: 6 });
  });

  it('`null` resets a nullable key', () => {
    const doc = { kafka: { schema_registry: { url: 'http://reg:8081' } }, handlers: { vm: {} } };
    expect(load({ AMH_KAFKA__SCHEMA_REGISTRY__URL: 'null' }, doc).kafka.schema_registry.url).toBeNull();
  });

  it('reaches plugin settings under handlers.<name>, matching existing keys case-insensitively', () => {
    const doc = { handlers: { vm: { plugin: 'vm', playbooks: { VM: 'vm_create.yml' } } } };
    const config = load({ AMH_HANDLERS__VM__PLAYBOOKS__LOCATION: '/srv/playbooks', AMH_HANDLERS__VM__PLAYBOOKS__VM: 'my_create.yml', AMH_HANDLERS__VM__TIMEOUTS__REDEEM: '45m', AMH_HANDLERS__VM__RUNTIME__SSH_RETRIES: '4' }, doc);
    expect(config.handlers.vm?.timeouts.REDEEM).toBe(45 * 60_000);
    const registry = HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS);
    const vm = registry.resolve('VM');
    expect(vm.plugin.playbooks(vm.settings)).toMatchObject({ VM: '/srv/playbooks/my_create.yml' });
    expect((vm.settings as { runtime: { ssh_retries: number } }).runtime.ssh_retries).toBe(4);
  });

  it('rejects a bad value naming the variable and the config path', () => {
    expect(() => load({ AMH_CONSUMER__CONCURRENCY: 'many' })).toThrow(/`consumer\.concurrency`: expected number, got "many" \(from env AMH_CONSUMER__CONCURRENCY\)/);
    expect(() => load({ AMH_CONSUMER__CONCURRENCY: '0' })).toThrow(/`consumer\.concurrency`: .* \(from env AMH_CONSUMER__CONCURRENCY\)/);
    expect(() => load({ AMH_KAFKA__CREATE_TOPICS: 'yes please' })).toThrow(/`kafka\.create_topics`: expected boolean, got "yes please" \(from env AMH_KAFKA__CREATE_TOPICS\)/);
    expect(() => load({ AMH_KAFKA_BROKERS: 'no-port' })).toThrow(/`kafka\.brokers\.0`: expected host:port \(from env AMH_KAFKA_BROKERS\)/);
    expect(() => load({ AMH_KAFKA__SESSION_TIMEOUT: 'soon' })).toThrow(/`kafka\.session_timeout`: expected a duration .* \(from env AMH_KAFKA__SESSION_TIMEOUT\)/);
    expect(() => load({ AMH_LOGGING__LEVEL: 'loud' })).toThrow(/`logging\.level`: .* \(from env AMH_LOGGING__LEVEL\)/);
    // Plugin settings are validated later, by the registry: the variable is named there too.
    const config = load({ AMH_HANDLERS__VM__RUNTIME__SSH_RETRIES: 'lots' });
    expect(() => HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS)).toThrow(/`handlers\.vm\.runtime\.ssh_retries`: .* \(from env AMH_HANDLERS__VM__RUNTIME__SSH_RETRIES\)/);
  });

  it('rejects a generic name that is no config path, listing what is there', () => {
    expect(() => load({ AMH_KAFKA__BROKER: 'k:1' })).toThrow(/AMH_KAFKA__BROKER: no config key `kafka\.broker` \(`kafka` has `brokers`, `client_id`/);
    expect(() => load({ AMH_KAFAK__BROKERS: 'k:1' })).toThrow(/AMH_KAFAK__BROKERS: no config key `kafak` \(the top level has `kafka`/);
    expect(() => load({ AMH_KAFKA__PARTITIONS__MAX: '1' })).toThrow(/`kafka\.partitions` takes a single value/);
    expect(() => load({ AMH_KAFKA__TOPICS: 'x' })).toThrow(/`kafka\.topics` is a section; set its keys one by one \(AMH_KAFKA__TOPICS__<KEY>\)/);
  });

  it('leaves other AMH_ variables alone (the broker script, the sim substrate, AMH_CONFIG)', () => {
    const config = load({ AMH_KAFKA_DIR: '/tmp/k', AMH_KAFKA_PORT: '19092', AMH_SIM_STATE_DIR: '/tmp/sim', AMH_TEST_LOG: 'debug' });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.envOrigins.size).toBe(0);
  });

  it('names each path by one rule', () => {
    expect(envNameFor(['kafka', 'sasl', 'username'])).toBe('AMH_KAFKA__SASL__USERNAME');
    expect(envNameFor(['http', 'port'])).toBe('AMH_HTTP__PORT');
  });
});
