// `amh` against a secured broker (scripts/kafka.sh start --secure): the service
// over SCRAM-SHA-256 + TLS, `amh send` / `amh tail` over SCRAM-SHA-512, PLAIN
// and mutual TLS, and one clear start-up error (exit 77) for a wrong password,
// an unknown CA and a missing client certificate.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { REPO } from '../helpers/config.js';
import { sleep, uniqueName } from '../helpers/kafka.js';
import { startSecureBroker, type SecureBroker } from '../helpers/secure-kafka.js';
import { testTopics } from '../helpers/service.js';
import { makeCa } from '../helpers/tls.js';

const run = promisify(execFile);
const CLI = join(REPO, 'dist/cli/main.js');
/** Ports reserved for this file: SASL_SSL, SSL, controller. */
const PORTS = { saslSsl: 9492, ssl: 9493, controller: 9494 };

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The test run's environment without AMH_KAFKA_BROKERS (it points at the shared plaintext broker and would override the configs). */
function baseEnv(): NodeJS.ProcessEnv {
  const { AMH_KAFKA_BROKERS: _shared, ...env } = process.env;
  return env;
}

/** `amh` as a user runs it (the built CLI), with `env` added; never rejects. */
async function amh(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 120_000): Promise<Finished> {
  const began = Date.now();
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...baseEnv(), ...env }, timeout });
    return { code: 0, stdout, stderr, ms: Date.now() - began };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : null, stdout: e.stdout ?? '', stderr: e.stderr ?? '', ms: Date.now() - began };
  }
}

describe('secure Kafka (SASL_SSL and SSL listeners)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'amh-secure-'));
  const topics = testTopics();
  const group = uniqueName('secure');
  let broker: SecureBroker;
  let service: ChildProcess | undefined;
  let serviceLog = '';

  /** A config file for `kafka` security settings; everything else shared by every client of this file. */
  function configFile(name: string, kafka: Record<string, unknown>): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      stringify({
        kafka: { group_id: group, topics, startup_timeout: '20s', ...kafka },
        runtime: { work_dir: join(dir, 'runs'), ledger_dir: join(dir, 'ledgers') },
        // Any free port: other services (tests running beside this file) may hold the default.
        http: { port: 0 },
        handlers: { vm: { plugin: 'vm', playbooks: { location: join(REPO, 'playbooks/sim') }, substrate: { state_dir: join(dir, 'sim') } } },
      }),
    );
    return file;
  }

  const sasl = (mechanism: string) => ({
    brokers: [broker.saslSsl],
    ssl: { ca_file: broker.caFile },
    sasl: { mechanism, username: broker.username, password_file: broker.passwordFile },
  });

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    broker = await startSecureBroker(PORTS);
  });

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service?.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    await broker?.stop();
  });

  it('runs the service over SCRAM-SHA-256 with TLS (it creates its topics and joins its group)', async () => {
    const config = configFile('scram-256', sasl('scram-sha-256'));
    service = spawn(process.execPath, [CLI, 'run', '--config', config], { env: baseEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    service.stderr?.on('data', (chunk: Buffer) => (serviceLog += chunk.toString()));
    const deadline = Date.now() + 60_000;
    while (!serviceLog.includes('"msg":"consuming"')) {
      if (service.exitCode !== null) throw new Error(`amh run exited ${service.exitCode}:\n${serviceLog}`);
      if (Date.now() > deadline) throw new Error(`amh run did not start consuming within 60 s:\n${serviceLog}`);
      await sleep(200);
    }
  });

  const clients: [string, () => Record<string, unknown>, () => NodeJS.ProcessEnv][] = [
    ['SCRAM-SHA-512 over TLS', () => sasl('SCRAM-SHA-512'), () => ({})],
    ['PLAIN over TLS', () => sasl('plain'), () => ({})],
    [
      'TLS with a client certificate (encrypted key, passphrase from the environment)',
      () => ({
        brokers: [broker.ssl],
        ssl: { ca_file: broker.caFile, cert_file: broker.clientCertFile, key_file: broker.clientKeyFile, key_passphrase_env: 'AMH_TEST_KEY_PASS' },
      }),
      () => ({ AMH_TEST_KEY_PASS: readFileSync(broker.clientKeyPassFile, 'utf8') }),
    ],
  ];

  it.each(clients)('sends a redeem and reads its reply with %s', async (name, kafka, clientEnv) => {
    const env = clientEnv();
    const config = configFile(name.replace(/\W+/g, '-'), kafka());
    const sliver = uniqueName('sec-vm');
    const sent = await amh(['send', join(REPO, 'examples/vm-redeem.yaml'), '--config', config, '--sliver', sliver], env);
    expect(sent, sent.stderr).toMatchObject({ code: 0 });
    const { sent: eventId } = JSON.parse(sent.stdout.trim()) as { sent: string };
    const tail = await amh(['tail', '--config', config, '--from-beginning', '--event-id', eventId, '--count', '1', '--timeout', '90'], env);
    expect(tail.code, `${tail.stderr}\nservice log:\n${serviceLog.slice(-3000)}`).toBe(0);
    expect(JSON.parse(tail.stdout.trim())).toMatchObject({ event_id: eventId, sliver_id: sliver, outcome: 'OK' });
  });

  /** `amh run` fails fast: exit 77, one `amh:` line naming the cause, no kafkajs error lines before it. */
  async function expectStartupRefusal(config: string, env: NodeJS.ProcessEnv, cause: RegExp, keys: string[]): Promise<void> {
    const result = await amh(['run', '--config', config], env, 30_000);
    expect(result.code, result.stderr).toBe(77);
    expect(result.ms).toBeLessThan(10_000);
    const lines = result.stderr.trim().split('\n');
    const errors = lines.filter((l) => l.startsWith('amh:') || /"level":(50|60)/.test(l));
    expect(errors, result.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^amh: KafkaSecurityError: /);
    expect(errors[0]).toMatch(cause);
    for (const key of keys) expect(errors[0]).toContain(key);
  }

  it('refuses a wrong password at start-up with one clear error and exit status 77', async () => {
    const config = configFile('wrong-password', { ...sasl('scram-sha-256'), sasl: { mechanism: 'scram-sha-256', username: 'amh', password_env: 'AMH_TEST_PW' } });
    await expectStartupRefusal(config, { AMH_TEST_PW: 'not-the-password' }, /refused the SASL SCRAM-SHA-256 login of user 'amh'/, [
      'kafka.sasl.username',
      'kafka.sasl.password_file / kafka.sasl.password_env',
    ]);
  });

  it('refuses a broker certificate from an unknown CA at start-up with one clear error and exit status 77', async () => {
    const stranger = makeCa('stranger', mkdtempSync(join(dir, 'ca-')));
    const config = configFile('unknown-ca', { ...sasl('scram-sha-256'), ssl: { ca_file: stranger.certFile } });
    await expectStartupRefusal(config, {}, /TLS certificate is not trusted \(SELF_SIGNED_CERT_IN_CHAIN/, [`kafka.ssl.ca_file (${stranger.certFile})`]);
  });

  it('refuses a connection without the client certificate the SSL listener requires', async () => {
    const config = configFile('no-client-cert', { brokers: [broker.ssl], ssl: { ca_file: broker.caFile } });
    await expectStartupRefusal(config, {}, /refused this client's TLS certificate/, ['kafka.ssl.cert_file', 'kafka.ssl.key_file']);
  });
});
