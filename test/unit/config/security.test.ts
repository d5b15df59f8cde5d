import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type ResolvedConfig } from '../../../src/config/index.js';
import { ConfigError } from '../../../src/errors/index.js';
import { kafkaClientConfig } from '../../../src/kafka/client.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { issueCert, makeCa, type IssuedCert, type TestCa } from '../../helpers/tls.js';

let dir: string;
let ca: TestCa;
let client: IssuedCert;
let other: IssuedCert;

beforeAll(() => {
  ca = makeCa('ca');
  dir = ca.dir;
  client = issueCert(ca, 'client', { usage: 'clientAuth', passphrase: 'open sesame' });
  other = issueCert(ca, 'other', { usage: 'clientAuth' });
  writeFileSync(join(dir, 'kafka.password'), 's3cret-from-file\n');
  writeFileSync(join(dir, 'wrong.pass'), 'not it\n');
});

/** Loads a config file in the certificates' folder (so relative paths resolve there) with `kafka` merged in. */
function load(kafka: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ResolvedConfig {
  const file = join(dir, `amh-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ kafka, handlers: { vm: {} } }));
  return loadConfig({ path: file, env });
}

function problems(kafka: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string {
  try {
    load(kafka, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('kafka.ssl and kafka.sasl', () => {
  it('are off by default: kafkajs gets neither ssl nor sasl', () => {
    const config = load({});
    expect(config.kafka.ssl).toBeNull();
    expect(config.kafka.sasl).toBeNull();
    const options = kafkaClientConfig(config.kafka, { clientId: 'x', logger: silentLogger() });
    expect(options).not.toHaveProperty('ssl');
    expect(options).not.toHaveProperty('sasl');
  });

  it('resolve relative paths from the config folder, read the secrets, and build the kafkajs options', () => {
    const config = load({
      ssl: { ca_file: 'ca.crt', cert_file: 'client.crt', key_file: 'client.key', key_passphrase_file: 'client.pass' },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'amh', password_file: 'kafka.password' },
    });
    expect(config.kafka.ssl).toMatchObject({ ca_file: join(dir, 'ca.crt'), cert_file: join(dir, 'client.crt'), verify_hostname: true });
    expect(config.kafka.sasl?.mechanism).toBe('scram-sha-512');
    const options = kafkaClientConfig(config.kafka, { clientId: 'x', logger: silentLogger() });
    expect(options.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'amh', password: 's3cret-from-file' });
    expect(options.ssl).toMatchObject({ rejectUnauthorized: true, cert: client.cert, key: client.key, passphrase: 'open sesame' });
    expect(options.ssl).not.toHaveProperty('checkServerIdentity');
  });

  it('never print a secret: JSON, inspect and string forms name only where it came from', () => {
    const config = load({ sasl: { mechanism: 'plain', username: 'amh', password_env: 'MY_PW' }, ssl: { ca_file: 'ca.crt' } }, { MY_PW: 'hunter2-env' });
    expect(config.kafka.sasl?.password.reveal()).toBe('hunter2-env');
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.kafka.sasl?.password)]) {
      expect(shown).not.toContain('hunter2-env');
    }
    expect(JSON.stringify(config.kafka.sasl)).toContain('[secret from environment variable MY_PW]');
  });

  it('read the password from AMH_KAFKA_SASL_PASSWORD when no source is named, and say so when it is unset', () => {
    const config = load({ sasl: { mechanism: 'scram-sha-256', username: 'amh' } }, { AMH_KAFKA_SASL_PASSWORD: 'from-default-env' });
    expect(config.kafka.sasl?.password.reveal()).toBe('from-default-env');
    expect(problems({ sasl: { mechanism: 'scram-sha-256', username: 'amh' } })).toContain(
      '`kafka.sasl.password_env`: environment variable AMH_KAFKA_SASL_PASSWORD is not set',
    );
  });

  it('refuse a literal password or passphrase in the file, pointing to the file and env keys', () => {
    const message = problems({
      sasl: { mechanism: 'plain', username: 'amh', password: 'literal' },
      ssl: { cert_file: 'other.crt', key_file: 'other.key', key_passphrase: 'literal' },
    });
    expect(message).toContain('`kafka.sasl.password`: a literal secret is refused here; put it in a file or an environment variable (`password_file` or `password_env`)');
    expect(message).toContain('`kafka.ssl.key_passphrase`: a literal secret is refused here');
  });

  it('name the key of a missing, unreadable or non-PEM file', () => {
    writeFileSync(join(dir, 'garbage.crt'), 'hello\n');
    const message = problems({ ssl: { ca_file: 'missing-ca.crt' }, sasl: { mechanism: 'plain', username: 'amh', password_file: 'nope.txt' } });
    expect(message).toContain(`\`kafka.ssl.ca_file\`: cannot use ${join(dir, 'missing-ca.crt')}: ENOENT`);
    expect(message).toContain(`\`kafka.sasl.password_file\`: cannot read the password from ${join(dir, 'nope.txt')}: ENOENT`);
    expect(problems({ ssl: { ca_file: 'garbage.crt' } })).toContain('`kafka.ssl.ca_file`: cannot use');
    if (process.getuid?.() !== 0) {
      // root reads files whatever their mode
      writeFileSync(join(dir, 'locked.password'), 'x');
      chmodSync(join(dir, 'locked.password'), 0o000);
      expect(problems({ sasl: { mechanism: 'plain', username: 'amh', password_file: 'locked.password' } })).toContain('EACCES');
    }
  });

  it('check the client key: both halves given, it opens with the passphrase, and it belongs to the certificate', () => {
    expect(problems({ ssl: { cert_file: 'client.crt' } })).toContain('`kafka.ssl.key_file`: a client certificate needs both `cert_file` and `key_file`');
    expect(problems({ ssl: { cert_file: 'client.crt', key_file: 'client.key' } })).toContain(
      '`kafka.ssl.key_file`: cannot open the key in',
    );
    expect(problems({ ssl: { cert_file: 'client.crt', key_file: 'client.key', key_passphrase_file: 'wrong.pass' } })).toMatch(
      /`kafka\.ssl\.key_file`: cannot open the key in .*wrong passphrase\?/,
    );
    expect(problems({ ssl: { cert_file: 'client.crt', key_file: 'other.key' } })).toContain(
      `\`kafka.ssl.key_file\`: ${join(dir, 'other.key')} is not the key of the certificate in ${join(dir, 'client.crt')}`,
    );
    expect(problems({ ssl: { key_passphrase_file: 'client.pass', key_passphrase_env: 'X' } })).toContain(
      '`kafka.ssl.key_passphrase_env`: give `key_passphrase_file` or `key_passphrase_env`, not both',
    );
  });

  it('reject an unknown mechanism, a missing username and unknown keys', () => {
    const message = problems({ sasl: { mechanism: 'gssapi', password_env: 'X' }, ssl: { ca: 'ca.crt' } }, { X: 'x' });
    expect(message).toContain('`kafka.sasl.mechanism`');
    expect(message).toContain('`kafka.sasl.username`: expected string');
    expect(message).toContain('`kafka.ssl`: unknown key(s) `ca`');
  });

  it('turn TLS off with enabled: false, and the hostname check off only when asked (unsafe)', () => {
    expect(load({ ssl: { enabled: false, ca_file: 'ca.crt' } }).kafka.ssl).toBeNull();
    const config = load({ ssl: { ca_file: 'ca.crt', verify_hostname: false } });
    const options = kafkaClientConfig(config.kafka, { clientId: 'x', logger: silentLogger() });
    expect(options.ssl).toMatchObject({ rejectUnauthorized: true });
    expect(options.ssl).toHaveProperty('checkServerIdentity');
  });
});
