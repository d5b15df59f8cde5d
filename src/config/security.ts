import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { errorMessage } from '../errors/index.js';
import { parseOrThrow } from './issues.js';
import { Secret } from './secret.js';

/**
 * `kafka.ssl` and `kafka.sasl`: how the service and every CLI command reach a
 * secured Kafka. Secrets (SASL password, client key passphrase) come from a
 * file or an environment variable, never from the config file itself or the
 * command line. Relative paths are relative to the config file's folder.
 */

/** The environment variable the SASL password is read from when neither `password_file` nor `password_env` is set. */
export const DEFAULT_SASL_PASSWORD_ENV = 'AMH_KAFKA_SASL_PASSWORD';

/** A literal secret in the YAML ends up in backups, tickets and `ps`-visible templates: refused, with where to put it instead. */
const noLiteral = (instead: string) =>
  z
    .unknown()
    .optional()
    .refine((v) => v === undefined, { message: `a literal secret is refused here; put it in a file or an environment variable (${instead})` });

export const sslSchema = z
  .object({
    /** TLS to every broker. Default `true` once a `kafka.ssl` block is present; `false` keeps the block but turns TLS off. */
    enabled: z.boolean().default(true),
    /** PEM file of the CA(s) that signed the brokers' certificates. Default `null`: Node's built-in public CAs. */
    ca_file: z.string().min(1).nullable().default(null),
    /** PEM client certificate, for listeners that require one (mutual TLS). Needs `key_file`. */
    cert_file: z.string().min(1).nullable().default(null),
    /** PEM private key of `cert_file`; may be encrypted (then give `key_passphrase_file` or `key_passphrase_env`). */
    key_file: z.string().min(1).nullable().default(null),
    /** File holding the key's passphrase (one line). */
    key_passphrase_file: z.string().min(1).nullable().default(null),
    /** Environment variable holding the key's passphrase. */
    key_passphrase_env: z.string().min(1).nullable().default(null),
    /** Check that the broker's certificate names the host it was reached at. UNSAFE to turn off: anyone with a certificate from the same CA can pose as the broker. */
    verify_hostname: z.boolean().default(true),
    key_passphrase: noLiteral('`key_passphrase_file` or `key_passphrase_env`'),
  })
  .strict()
  .superRefine((ssl, ctx) => {
    if ((ssl.cert_file === null) !== (ssl.key_file === null)) {
      const missing = ssl.cert_file === null ? 'cert_file' : 'key_file';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'a client certificate needs both `cert_file` and `key_file`' });
    }
    if (ssl.key_passphrase_file !== null && ssl.key_passphrase_env !== null) {
      ctx.addIssue({ code: 'custom', path: ['key_passphrase_env'], message: 'give `key_passphrase_file` or `key_passphrase_env`, not both' });
    }
  });

export const saslSchema = z
  .object({
    /** `plain`, `scram-sha-256` or `scram-sha-512` (Kafka's spelling, `SCRAM-SHA-256`, is accepted too). PLAIN sends the password as it is: use it only with `kafka.ssl`. */
    mechanism: z
      .string()
      .transform((m) => m.toLowerCase())
      .pipe(z.enum(['plain', 'scram-sha-256', 'scram-sha-512'])),
    username: z.string().min(1),
    /** File holding the password (its first line; a trailing newline is ignored). */
    password_file: z.string().min(1).nullable().default(null),
    /** Environment variable holding the password. Default `AMH_KAFKA_SASL_PASSWORD` when `password_file` is not set either. */
    password_env: z.string().min(1).nullable().default(null),
    password: noLiteral('`password_file` or `password_env`'),
  })
  .strict()
  .superRefine((sasl, ctx) => {
    if (sasl.password_file !== null && sasl.password_env !== null) {
      ctx.addIssue({ code: 'custom', path: ['password_env'], message: 'give `password_file` or `password_env`, not both' });
    }
  });

export type SslConfig = z.output<typeof sslSchema>;
export type SaslConfig = z.output<typeof saslSchema>;
export type SaslMechanism = SaslConfig['mechanism'];

/** `kafka.ssl` after start-up checks: absolute paths, the passphrase read. Absent or `enabled: false` resolves to `null`. */
export interface ResolvedSsl {
  ca_file: string | null;
  cert_file: string | null;
  key_file: string | null;
  key_passphrase: Secret | null;
  verify_hostname: boolean;
}

/** `kafka.sasl` after start-up checks: the password read from its file or variable. */
export interface ResolvedSasl {
  mechanism: SaslMechanism;
  username: string;
  password: Secret;
}

interface Sources {
  resolvePath: (p: string) => string;
  env: NodeJS.ProcessEnv;
}

/** Reads a secret from a file (first line) or an environment variable; a zod issue names the key when it cannot. */
function readSecret(ctx: z.RefinementCtx, key: string, from: { file: string | null; env: string | null }, s: Sources): Secret | null {
  if (from.file !== null) {
    const path = s.resolvePath(from.file);
    try {
      const value = readFileSync(path, 'utf8').replace(/\r?\n[\s\S]*$/, '');
      if (value === '') throw new Error('the file is empty');
      return new Secret(value, `file ${path}`);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: [`${key}_file`], message: `cannot read the ${key} from ${path}: ${errorMessage(err)}` });
      return null;
    }
  }
  if (from.env !== null) {
    const value = s.env[from.env];
    if (value) return new Secret(value, `environment variable ${from.env}`);
    ctx.addIssue({ code: 'custom', path: [`${key}_env`], message: `environment variable ${from.env} is not set (it should hold the ${key})` });
  }
  return null;
}

/** Reads a PEM file; a zod issue names the key when it is missing, unreadable or not PEM. */
function readPem(ctx: z.RefinementCtx, key: string, file: string, s: Sources): { path: string; pem: string } | null {
  const path = s.resolvePath(file);
  try {
    const pem = readFileSync(path, 'utf8');
    if (!pem.includes('-----BEGIN ')) throw new Error('not a PEM file');
    return { path, pem };
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: [key], message: `cannot use ${path}: ${errorMessage(err)}` });
    return null;
  }
}

function resolveSsl(ssl: SslConfig, ctx: z.RefinementCtx, s: Sources): ResolvedSsl {
  const ca = ssl.ca_file === null ? null : readPem(ctx, 'ca_file', ssl.ca_file, s);
  if (ca) {
    try {
      new X509Certificate(ca.pem);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['ca_file'], message: `${ca.path} holds no readable certificate: ${errorMessage(err)}` });
    }
  }
  const passphrase = readSecret(ctx, 'key_passphrase', { file: ssl.key_passphrase_file, env: ssl.key_passphrase_env }, s);
  const cert = ssl.cert_file === null ? null : readPem(ctx, 'cert_file', ssl.cert_file, s);
  const key = ssl.key_file === null ? null : readPem(ctx, 'key_file', ssl.key_file, s);
  if (cert && key) checkClientKeyPair(ctx, cert, key, passphrase);
  return {
    ca_file: ca?.path ?? null,
    cert_file: cert?.path ?? null,
    key_file: key?.path ?? null,
    key_passphrase: passphrase,
    verify_hostname: ssl.verify_hostname,
  };
}

/** The key opens with the passphrase given and belongs to the certificate: otherwise the TLS handshake would fail later with an OpenSSL code. */
function checkClientKeyPair(ctx: z.RefinementCtx, cert: { path: string; pem: string }, key: { path: string; pem: string }, passphrase: Secret | null): void {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: key.pem, ...(passphrase ? { passphrase: passphrase.reveal() } : {}) });
  } catch (err) {
    const hint = passphrase ? 'wrong passphrase?' : 'an encrypted key needs `key_passphrase_file` or `key_passphrase_env`';
    ctx.addIssue({ code: 'custom', path: ['key_file'], message: `cannot open the key in ${key.path} (${hint}): ${errorMessage(err)}` });
    return;
  }
  try {
    if (!new X509Certificate(cert.pem).checkPrivateKey(privateKey)) {
      ctx.addIssue({ code: 'custom', path: ['key_file'], message: `${key.path} is not the key of the certificate in ${cert.path}` });
    }
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['cert_file'], message: `${cert.path} holds no readable certificate: ${errorMessage(err)}` });
  }
}

function resolveSasl(sasl: SaslConfig, ctx: z.RefinementCtx, s: Sources): ResolvedSasl | null {
  const env = sasl.password_file === null ? (sasl.password_env ?? DEFAULT_SASL_PASSWORD_ENV) : null;
  const password = readSecret(ctx, 'password', { file: sasl.password_file, env }, s);
  return password && { mechanism: sasl.mechanism, username: sasl.username, password };
}

export interface ResolvedKafkaSecurity {
  ssl: ResolvedSsl | null;
  sasl: ResolvedSasl | null;
}

/**
 * Start-up checks of `kafka.ssl` / `kafka.sasl` that need the disk and the
 * environment: files exist, are readable and hold what they should (the CA a
 * certificate, the key opens with its passphrase and matches the client
 * certificate), secret variables are set. Throws one ConfigError naming each
 * bad path (`kafka.sasl.password_file`: cannot read ...).
 */
export function resolveKafkaSecurity(
  kafka: { ssl: SslConfig | null; sasl: SaslConfig | null },
  source: string,
  sources: Sources,
): ResolvedKafkaSecurity {
  const schema = z.object({
    ssl: z.custom<SslConfig | null>().transform((ssl, ctx) => (ssl?.enabled ? resolveSsl(ssl, ctx, sources) : null)),
    sasl: z.custom<SaslConfig | null>().transform((sasl, ctx) => (sasl ? resolveSasl(sasl, ctx, sources) : null)),
  });
  return parseOrThrow(schema, kafka, source, ['kafka']);
}
