import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../../src/config/duration.js';
import { loadConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors/index.js';
import { BUILTIN_PLUGINS, HandlerRegistry } from '../../../src/handlers/index.js';
import { testConfig } from '../../helpers/config.js';

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'amh-cfg-')), 'amh.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('loads the shipped config/amh.yaml and resolves durations and paths', () => {
    const config = loadConfig({ env: {} });
    expect(config.kafka.topics).toEqual({
      events: 'amh.events',
      replies: 'amh.replies',
      dead_letter: 'amh.events.dlq',
      state: 'amh.state',
      drift: 'amh.drift',
      progress: null,
    });
    expect(config.logging).toEqual({ level: 'info', format: 'auto' });
    expect(config.consumer.shutdown_grace).toBe(30_000);
    expect(config.handlers.vm?.timeouts.REDEEM).toBe(30 * 60_000);
    expect(config.resolvePath('../var/runs')).toMatch(/\/var\/runs$/);
  });

  it('fills defaults for everything left out', () => {
    const config = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.consumer).toEqual({
      concurrency: 10,
      max_queued: 1000,
      shutdown_grace: 30_000,
      dead_letter_limit: { max: 100, window: 60_000 },
      ledger_entries: 64,
      ledger_replies: 4,
      ledger_retention: 7 * 86_400_000,
      ledger_sweep_interval: 10 * 60_000,
      cancel_create_on_close: true,
      shutdown_timeout: 60_000,
      lease_ttl: 30_000,
      revoke_grace: 30_000,
      max_event_bytes: 512 * 1024,
      max_reply_bytes: 256 * 1024,
      max_ledger_bytes: 900 * 1024,
    });
    expect(config.kafka.session_timeout).toBe(10_000);
    expect(config.kafka.heartbeat_interval).toBe(1_000);
    expect(config.handlers.vm?.timeouts.default).toBe(15 * 60_000);
  });

  it('takes durations in days, as a ledger retention is written (`30d`), and says them back the same way', () => {
    const config = loadConfig({ path: configFile('handlers:\n  vm: {}\nconsumer: { ledger_retention: 30d, ledger_replies: 2 }\n'), env: {} });
    expect(config.consumer.ledger_retention).toBe(30 * 86_400_000);
    expect(config.consumer.ledger_replies).toBe(2);
    expect(parseDuration('1.5d')).toBe(36 * 3_600_000);
    expect([formatDuration(7 * 86_400_000), formatDuration(90 * 60_000), formatDuration(1500)]).toEqual(['7d', '90m', '1500ms']);
  });

  it('refuses a ledger retention so short that new slivers would be answered STALE', () => {
    const file = configFile('handlers:\n  vm: {}\nconsumer: { ledger_retention: 0 }\n');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(/`consumer\.ledger_retention`: ledger_retention must be at least 1h/);
  });

  it('restores ledgers in a child from 20,000 records by default; null turns it off; a bad value is refused naming the path', () => {
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} }).runtime.ledger_restore_child_min_records).toBe(20_000);
    const off = loadConfig({ path: configFile('handlers:\n  vm: {}\nruntime: { ledger_restore_child_min_records: null }\n'), env: {} });
    expect(off.runtime.ledger_restore_child_min_records).toBeNull();
    for (const bad of ['-1', '1.5', 'many']) {
      const file = configFile(`handlers:\n  vm: {}\nruntime: { ledger_restore_child_min_records: ${bad} }\n`);
      expect(() => loadConfig({ path: file, env: {} }), bad).toThrow(/`runtime\.ledger_restore_child_min_records`/);
    }
  });

  it('warm runner: on by default, off per handler or for all (also from AMH_RUNTIME__WARM_RUNNER__ENABLED); bad values named by path', () => {
    const plain = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(plain.runtime.warm_runner).toEqual({ enabled: true, pool_size: 1, restart_backoff: 1000, restart_backoff_max: 30_000, fork_timeout: 5000 });
    expect(plain.handlers.vm?.warm_runner).toBeNull();
    const perHandler = loadConfig({ path: configFile('handlers:\n  vm: { warm_runner: false }\n'), env: {} });
    expect(perHandler.handlers.vm?.warm_runner).toBe(false);
    const fromEnv = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: { AMH_RUNTIME__WARM_RUNNER__ENABLED: 'false', AMH_RUNTIME__WARM_RUNNER__POOL_SIZE: '2' } });
    expect(fromEnv.runtime.warm_runner).toMatchObject({ enabled: false, pool_size: 2 });
    const bad: [string, RegExp][] = [
      ['runtime: { warm_runner: { pool_size: 0 } }', /`runtime\.warm_runner\.pool_size`/],
      ['runtime: { warm_runner: { enabled: maybe } }', /`runtime\.warm_runner\.enabled`/],
      ['runtime: { warm_runner: { fork_timeout: 10ms } }', /`runtime\.warm_runner\.fork_timeout`/],
      ['runtime: { warm_runner: { restart_backoff: 1m, restart_backoff_max: 10s } }', /`runtime\.warm_runner\.restart_backoff_max`/],
      ['runtime: { warm_runner: { zygotes: 2 } }', /`runtime\.warm_runner`/],
    ];
    for (const [yaml, path] of bad) expect(() => loadConfig({ path: configFile(`handlers:\n  vm: {}\n${yaml}\n`), env: {} }), yaml).toThrow(path);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: { warm_runner: yes please }\n'), env: {} })).toThrow(/`handlers\.vm\.warm_runner`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: { AMH_RUNTIME__WARM_RUNNER__ENABLED: 'sometimes' } })).toThrow(/AMH_RUNTIME__WARM_RUNNER__ENABLED/);
  });

  it('bounds a fetch to 64 KiB per partition and 1 MiB in all by default; bad fetch values are refused naming the path', () => {
    const config = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(config.kafka.fetch).toEqual({ max_partition_bytes: 64 * 1024, max_bytes: 1024 * 1024 });
    const tuned = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: { AMH_KAFKA__FETCH__MAX_PARTITION_BYTES: '262144' } });
    expect(tuned.kafka.fetch.max_partition_bytes).toBe(262_144);
    const bad: [string, RegExp][] = [
      ['{ max_partition_bytes: 100 }', /`kafka\.fetch\.max_partition_bytes`/],
      ['{ max_bytes: 1.5 }', /`kafka\.fetch\.max_bytes`/],
      ['{ max_partition_bytes: 2097152 }', /`kafka\.fetch\.max_bytes`: max_bytes must be at least max_partition_bytes/],
      ['{ maxBytes: 1 }', /`kafka\.fetch`: unknown key/],
    ];
    for (const [value, message] of bad) {
      const file = configFile(`handlers:\n  vm: {}\nkafka: { fetch: ${value} }\n`);
      expect(() => loadConfig({ path: file, env: {} }), value).toThrow(message);
    }
  });

  it('caps the old generation at 1.2x the live heap by default; a bad heap_growing_percent is refused naming the path', () => {
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} }).runtime.heap_growing_percent).toBe(20);
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: { AMH_RUNTIME__HEAP_GROWING_PERCENT: '0' } }).runtime.heap_growing_percent).toBe(0);
    for (const value of ['-5', '1000', '12.5', 'lots']) {
      expect(() => loadConfig({ path: configFile(`handlers:\n  vm: {}\nruntime: { heap_growing_percent: ${value} }\n`), env: {} }), value).toThrow(
        /`runtime\.heap_growing_percent`/,
      );
    }
  });

  it('batches writes with a 1 ms linger by default; bad write_batch values are refused naming the path', () => {
    const config = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(config.kafka.write_batch).toEqual({ linger: 1, max_records: 500, max_bytes: 1024 * 1024, max_in_flight: 1 });
    const tuned = loadConfig({ path: configFile('handlers:\n  vm: {}\nkafka: { write_batch: { linger: 0, max_records: 50 } }\n'), env: {} });
    expect(tuned.kafka.write_batch).toMatchObject({ linger: 0, max_records: 50 });
    const bad: [string, RegExp][] = [
      ['{ linger: soon }', /`kafka\.write_batch\.linger`: expected a duration/],
      ['{ linger: 5s }', /`kafka\.write_batch\.linger`: expected at most 1s/],
      ['{ max_records: 0 }', /`kafka\.write_batch\.max_records`/],
      ['{ max_bytes: 100 }', /`kafka\.write_batch\.max_bytes`/],
      ['{ max_in_flight: 2.5 }', /`kafka\.write_batch\.max_in_flight`/],
      ['{ lingr: 1 }', /`kafka\.write_batch`: unknown key/],
    ];
    for (const [value, message] of bad) {
      const file = configFile(`handlers:\n  vm: {}\nkafka: { write_batch: ${value} }\n`);
      expect(() => loadConfig({ path: file, env: {} }), value).toThrow(message);
    }
  });

  it('refuses a shutdown deadline that is not longer than the grace, naming the path', () => {
    const file = configFile('handlers:\n  vm: {}\nconsumer: { shutdown_grace: 30s, shutdown_timeout: 10s }\n');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(/consumer\.shutdown_timeout/);
  });

  it('names the path, what was expected and what was found', () => {
    const file = configFile('handlers:\n  vm:\n    timeouts: { REDEEM: fast }\nconsumer: { concurrency: zero }\n');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(ConfigError);
    try {
      loadConfig({ path: file, env: {} });
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain(file);
      expect(message).toContain('`handlers.vm.timeouts.REDEEM`: expected a duration like `15m`, `30s` or `500ms`, got `fast`');
      expect(message).toContain('`consumer.concurrency`: expected number, got "zero"');
    }
  });

  it('rejects unknown keys instead of ignoring typos', () => {
    const file = configFile('handlers:\n  vm: {}\nconsumer: { concurency: 3 }\n');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(/`consumer`: unknown key\(s\) `concurency`/);
  });

  it('reports unreadable files and broken YAML with the file name', () => {
    expect(() => loadConfig({ path: '/nonexistent/amh.yaml', env: {} })).toThrow(/cannot read config file \/nonexistent\/amh.yaml/);
    const file = configFile('handlers: [unclosed\n');
    expect(() => loadConfig({ path: file, env: {} })).toThrow(/not valid YAML/);
  });

  it('takes audit.interval, kafka.topics.drift and handlers.<h>.repair, and rejects bad values naming the path', () => {
    const defaults = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(defaults.audit.interval).toBe(3_600_000);
    expect(defaults.handlers.vm?.repair).toEqual({ missing: false, degraded: false, orphans: false, orphan_grace: 3_600_000 });
    const config = loadConfig({
      path: configFile('handlers:\n  vm:\n    repair: { orphans: true, orphan_grace: 10m }\naudit: { interval: null }\nkafka:\n  topics: { drift: site.drift }\n'),
      env: {},
    });
    expect(config.audit.interval).toBeNull();
    expect(config.kafka.topics.drift).toBe('site.drift');
    expect(config.handlers.vm?.repair).toEqual({ missing: false, degraded: false, orphans: true, orphan_grace: 600_000 });
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: {}\naudit: { interval: often }\n'), env: {} })).toThrow(/`audit.interval`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: {}\naudit: { interval: 10ms }\n'), env: {} })).toThrow(/`audit.interval`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm:\n    repair: { orphan_grace: soon }\n'), env: {} })).toThrow(/`handlers.vm.repair.orphan_grace`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm:\n    repair: { orphans: yes please }\n'), env: {} })).toThrow(/`handlers.vm.repair.orphans`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm:\n    repair: { missing_vms: true }\n'), env: {} })).toThrow(/handlers.vm.repair/);
  });

  it('takes logging.format and kafka.topics.progress, and rejects bad values naming the path', () => {
    const config = loadConfig({ path: configFile('handlers:\n  vm: {}\nkafka:\n  topics: { progress: amh.progress }\n'), env: { AMH_LOG_FORMAT: 'json' } });
    expect(config.kafka.topics.progress).toBe('amh.progress');
    expect(config.logging.format).toBe('json');
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: { AMH_LOG_FORMAT: 'fancy' } })).toThrow(/`logging.format`/);
    expect(() => loadConfig({ path: configFile("handlers:\n  vm: {}\nkafka:\n  topics: { progress: '' }\n"), env: {} })).toThrow(/`kafka.topics.progress`/);
  });

  it('takes reconcile.* and handlers.<name>.repair, and rejects bad values at start-up naming the path', () => {
    const defaults = loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} });
    expect(defaults.reconcile).toEqual({ enabled: true, interval: 3_600_000, share: 0.2 });
    expect(defaults.handlers.vm?.repair).toEqual({ missing: false, degraded: false, orphans: false, orphan_grace: 3_600_000 });
    expect(defaults.kafka.topics.drift).toBe('amh.drift');
    const set = loadConfig({ path: configFile('handlers:\n  vm: { repair: { missing: true } }\nreconcile: { interval: 2s, share: 0.5 }\n'), env: {} });
    expect(set.reconcile).toEqual({ enabled: true, interval: 2_000, share: 0.5 });
    expect(set.handlers.vm?.repair).toEqual({ missing: true, degraded: false, orphans: false, orphan_grace: 3_600_000 });
    const bad = (yaml: string) => () => loadConfig({ path: configFile(`handlers:\n  vm: {}\n${yaml}`), env: {} });
    expect(bad('reconcile: { interval: fast }\n')).toThrow(/`reconcile.interval`: expected a duration/);
    expect(bad('reconcile: { interval: 500ms }\n')).toThrow(/`reconcile.interval`: expected at least 1s/);
    expect(bad('reconcile: { share: 0 }\n')).toThrow(/`reconcile.share`/);
    expect(bad('reconcile: { share: 1.5 }\n')).toThrow(/`reconcile.share`/);
    expect(bad('reconcile: { every: 1h }\n')).toThrow(/reconcile/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: { repair: { missing: yes-please } }\n'), env: {} })).toThrow(/`handlers.vm.repair.missing`/);
    expect(() => loadConfig({ path: configFile('handlers:\n  vm: { repair: { orphan: true } }\n'), env: {} })).toThrow(/handlers.vm.repair/);
  });

  it('lets the environment override brokers and group', () => {
    const config = loadConfig({ env: { AMH_KAFKA_BROKERS: '127.0.0.1:19092, 127.0.0.1:29092', AMH_GROUP_ID: 'g2' } });
    expect(config.kafka.brokers).toEqual(['127.0.0.1:19092', '127.0.0.1:29092']);
    expect(config.kafka.group_id).toBe('g2');
  });
});

describe('kafka.schema_registry.url', () => {
  const withUrl = (url: string): string => configFile(`handlers:\n  vm: {}\nkafka:\n  schema_registry: { url: '${url}' }\n`);

  it.each(['http://127.0.0.1:', 'ftp://registry:8081', 'file:///etc/passwd', 'registry:8081', 'http://'])(
    'rejects %s at start-up, naming the path',
    (url) => {
      expect(() => loadConfig({ path: withUrl(url), env: {} })).toThrow(ConfigError);
      expect(() => loadConfig({ path: withUrl(url), env: {} })).toThrow(/`kafka\.schema_registry\.url`: expected an http\(s\) URL/);
    },
  );

  it('rejects the same URLs given through AMH_SCHEMA_REGISTRY_URL', () => {
    const file = configFile('handlers:\n  vm: {}\n');
    for (const url of ['http://127.0.0.1:', 'ftp://registry:8081']) {
      expect(() => loadConfig({ path: file, env: { AMH_SCHEMA_REGISTRY_URL: url } })).toThrow(/`kafka\.schema_registry\.url`/);
    }
  });

  it('accepts http and https URLs, with or without port and path, from the file or the environment', () => {
    for (const url of ['http://127.0.0.1:8081', 'https://registry.example.org', 'http://registry:8081/api/']) {
      expect(loadConfig({ path: withUrl(url), env: {} }).kafka.schema_registry.url).toBe(url);
    }
    const env = { AMH_SCHEMA_REGISTRY_URL: 'http://10.0.0.5:8081' };
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env }).kafka.schema_registry.url).toBe('http://10.0.0.5:8081');
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} }).kafka.schema_registry.url).toBeNull();
  });
});

describe('kafka.startup_timeout', () => {
  it('defaults to 60 s and takes a duration', () => {
    expect(loadConfig({ path: configFile('handlers:\n  vm: {}\n'), env: {} }).kafka.startup_timeout).toBe(60_000);
    const file = configFile('handlers:\n  vm: {}\nkafka: { startup_timeout: 2m }\n');
    expect(loadConfig({ path: file, env: {} }).kafka.startup_timeout).toBe(120_000);
    const bad = configFile('handlers:\n  vm: {}\nkafka: { startup_timeout: soon }\n');
    expect(() => loadConfig({ path: bad, env: {} })).toThrow(/`kafka\.startup_timeout`: expected a duration/);
  });
});

describe('HandlerRegistry.fromConfig', () => {
  it('validates plugin settings with paths under handlers.<entry>', () => {
    const config = testConfig({ handlers: { vm: { plugin: 'vm', runtime: { ssh_retries: 'many' } } } });
    expect(() => HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS)).toThrow(
      /`handlers.vm.runtime.ssh_retries`: expected number, got "many"/,
    );
  });

  it('names an unknown plugin and lists the built-in ones', () => {
    const config = testConfig({ handlers: { gpu: { plugin: 'quantum' } } });
    expect(() => HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS)).toThrow(
      /`handlers.gpu.plugin`: unknown plugin 'quantum'; built-in plugins: vm/,
    );
  });

  it('refuses two handlers for one resource type', () => {
    const config = testConfig({ handlers: { vm: { plugin: 'vm' }, vm2: { plugin: 'vm' } } });
    expect(() => HandlerRegistry.fromConfig(config, BUILTIN_PLUGINS)).toThrow(
      /`handlers.vm2.resource_types`: 'VM' is already served by `handlers.vm`/,
    );
  });

  it('resolves types and lists the known ones for an unknown type', () => {
    const registry = HandlerRegistry.fromConfig(testConfig(), BUILTIN_PLUGINS);
    expect(registry.resolve('VM').name).toBe('vm');
    expect(() => registry.resolve('Quantum')).toThrow("no handler for resource type 'Quantum'; known types: VM");
  });
});
