// A second, secure broker (`scripts/kafka.sh start --secure`) for the tests of
// kafka.ssl / kafka.sasl: SASL_SSL (SCRAM-SHA-256/512, PLAIN) and SSL with a
// required client certificate, keys generated into its own directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './config.js';

export interface SecureBroker {
  dir: string;
  /** SASL_SSL listener. */
  saslSsl: string;
  /** SSL listener (client certificate required). */
  ssl: string;
  caFile: string;
  username: string;
  passwordFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** The passphrase of the (encrypted) client key. */
  clientKeyPassFile: string;
  stop(): Promise<void>;
}

export interface SecureBrokerPorts {
  saslSsl: number;
  ssl: number;
  controller: number;
}

function kafkaScript(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO, 'scripts/kafka.sh'), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Starts a secure broker in a fresh directory; `stop()` stops it and deletes the directory. */
export async function startSecureBroker(ports: SecureBrokerPorts): Promise<SecureBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'amh-kafka-secure-'));
  const env = {
    AMH_KAFKA_DIR: dir,
    AMH_KAFKA_PORT: String(ports.saslSsl),
    AMH_KAFKA_SSL_PORT: String(ports.ssl),
    AMH_KAFKA_CONTROLLER_PORT: String(ports.controller),
    // 128 MiB: small enough that a broker needing more at start-up (the cleaner's
    // dedupe buffer once did) fails here every time rather than now and then.
    AMH_KAFKA_HEAP_OPTS: process.env.AMH_KAFKA_HEAP_OPTS ?? '-Xmx128m -Xms64m',
  };
  const started = await kafkaScript(['start', '--secure'], env);
  if (started.code !== 0) {
    await kafkaScript(['stop'], env);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`scripts/kafka.sh start --secure failed (exit ${started.code}):\n${started.output}`);
  }
  const tls = join(dir, 'tls');
  return {
    dir,
    saslSsl: `127.0.0.1:${ports.saslSsl}`,
    ssl: `127.0.0.1:${ports.ssl}`,
    caFile: join(tls, 'ca.crt'),
    username: 'amh',
    passwordFile: join(tls, 'sasl.password'),
    clientCertFile: join(tls, 'client.crt'),
    clientKeyFile: join(tls, 'client.key'),
    clientKeyPassFile: join(tls, 'client.key.pass'),
    async stop() {
      const stopped = await kafkaScript(['stop'], env);
      if (stopped.code !== 0) throw new Error(`scripts/kafka.sh stop failed:\n${stopped.output}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
