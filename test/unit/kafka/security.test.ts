import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../src/config/index.js';
import { KafkaSecurityError, RetryDeadlineError } from '../../../src/errors/index.js';
import type { KafkaConnectionConfig } from '../../../src/kafka/client.js';
import { asKafkaSecurityError, securityWarnings, verifyKafkaAccess } from '../../../src/kafka/security.js';
import { isTransient } from '../../../src/kafka/transient.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { issueCert, makeCa, type TestCa } from '../../helpers/tls.js';

const { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSSASLAuthenticationError, KafkaJSNonRetriableError } =
  kafkajs as unknown as Record<string, new (...args: unknown[]) => Error>;

/** What kafkajs makes of a socket error (connection.js onError), then of its retries running out. */
const socketError = (code: string): Error => new KafkaJSConnectionError!(`Connection error: failed with ${code}`, { broker: '127.0.0.1:1', code });
const exhausted = (e: Error): Error => new KafkaJSNumberOfRetriesExceeded!(e, { retryCount: 8, retryTime: 5000 });

const settings = (over: Partial<KafkaConnectionConfig> = {}): KafkaConnectionConfig => ({
  brokers: ['127.0.0.1:1'],
  ssl: { ca_file: '/etc/amh/ca.crt', cert_file: null, key_file: null, key_passphrase: null, verify_hostname: true },
  sasl: { mechanism: 'scram-sha-256', username: 'amh', password: new Secret('pw', 'file /etc/amh/kafka.password') },
  ...over,
});

describe('asKafkaSecurityError', () => {
  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', 'untrusted-certificate', 'kafka.ssl.ca_file (/etc/amh/ca.crt)'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'untrusted-certificate', 'kafka.ssl.ca_file'],
    ['CERT_HAS_EXPIRED', 'untrusted-certificate', 'kafka.ssl.ca_file'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'hostname-mismatch', 'kafka.brokers'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'client-certificate', 'kafka.ssl.cert_file'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'not-tls', 'kafka.ssl'],
  ])('%s (after kafkajs gave up retrying) is %s, naming %s', (code, reason, keys) => {
    const err = asKafkaSecurityError(exhausted(socketError(code)), settings());
    expect(err).toBeInstanceOf(KafkaSecurityError);
    expect(err).toMatchObject({ reason, retriable: false, code: 'KAFKA_SECURITY' });
    expect(err?.message).toContain(code);
    expect(err?.message).toContain(keys);
  });

  it('names the mechanism, the user and where the password came from for a refused SASL login', () => {
    const sasl = new KafkaJSSASLAuthenticationError!('SASL SCRAM SHA256 authentication failed: invalid credentials');
    const err = asKafkaSecurityError(new KafkaJSNonRetriableError!(sasl, { cause: sasl }), settings());
    expect(err).toMatchObject({ reason: 'authentication' });
    expect(err?.message).toContain("SASL SCRAM-SHA-256 login of user 'amh' (password from file /etc/amh/kafka.password)");
    expect(err?.message).toContain('kafka.sasl.password_file / kafka.sasl.password_env');
    expect(err?.message).not.toContain('pw)');
  });

  it('leaves an unreachable broker alone: that is transient, not a security failure', () => {
    const refused = exhausted(socketError('ECONNREFUSED'));
    expect(asKafkaSecurityError(refused, settings())).toBeUndefined();
    expect(isTransient(refused)).toBe(true);
  });

  it('makes TLS refusals permanent for the start-up retries, though kafkajs marks connection errors retriable', () => {
    expect(socketError('SELF_SIGNED_CERT_IN_CHAIN')).toMatchObject({ retriable: true });
    expect(isTransient(socketError('SELF_SIGNED_CERT_IN_CHAIN'))).toBe(false);
    expect(isTransient(exhausted(socketError('ERR_TLS_CERT_ALTNAME_INVALID')))).toBe(false);
  });
});

describe('securityWarnings', () => {
  it('warns about a switched-off hostname check and a password without TLS', () => {
    expect(securityWarnings(settings())).toEqual([]);
    const ssl = { ...settings().ssl!, verify_hostname: false };
    expect(securityWarnings(settings({ ssl }))).toEqual([expect.stringContaining('verify_hostname is false')]);
    const plain = { ...settings().sasl!, mechanism: 'plain' as const };
    expect(securityWarnings(settings({ ssl: null, sasl: plain }))).toEqual([expect.stringContaining('clear text')]);
  });
});

// A real TLS endpoint on 127.0.0.1 (not Kafka): the handshake is what is under test.
describe('verifyKafkaAccess against a TLS endpoint', () => {
  let trusted: TestCa;
  let stranger: TestCa;
  const servers: Server[] = [];

  /** Serves `san` certificates from the trusted CA; closes every connection right after the handshake. */
  async function tlsServer(san: string): Promise<number> {
    const leaf = issueCert(trusted, `server-${servers.length}`, { san });
    const server = createServer({ cert: leaf.cert, key: leaf.key }, (socket) => socket.end());
    server.on('tlsClientError', () => {});
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  const verify = (port: number, ca: TestCa, verifyHostname = true): Promise<void> =>
    verifyKafkaAccess(
      {
        brokers: [`127.0.0.1:${port}`],
        ssl: { ca_file: ca.certFile, cert_file: null, key_file: null, key_passphrase: null, verify_hostname: verifyHostname },
        sasl: null,
      },
      { clientId: 'amh-test', logger: silentLogger(), deadlineMs: 1_500 },
    );

  beforeAll(() => {
    trusted = makeCa('trusted');
    stranger = makeCa('stranger');
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('fails at once on a certificate from a CA it was not given', async () => {
    const port = await tlsServer('IP:127.0.0.1');
    const began = Date.now();
    const err = await verify(port, stranger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaSecurityError);
    expect(err).toMatchObject({ reason: 'untrusted-certificate' });
    expect(Date.now() - began).toBeLessThan(1_000);
  });

  it('fails at once on a certificate that names another host', async () => {
    const port = await tlsServer('DNS:broker.elsewhere.example');
    const err = await verify(port, trusted).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'hostname-mismatch' });
    expect((err as Error).message).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('gets past that certificate with verify_hostname: false, and treats the closed connection after it as transient', async () => {
    const port = await tlsServer('DNS:broker.elsewhere.example');
    const err = await verify(port, trusted, false).catch((e: unknown) => e);
    // Not a security failure: the "broker" (which speaks no Kafka) closed the connection, and that was retried until the deadline.
    expect(err).toBeInstanceOf(RetryDeadlineError);
    expect((err as Error).message).toContain('connecting to Kafka still failing after');
  });
});
