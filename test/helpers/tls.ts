// Certificates for tests, made with openssl into a temporary folder (never committed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  certFile: string;
  keyFile: string;
}

export interface IssuedCert {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA named `name`. */
export function makeCa(name: string, dir = mkdtempSync(join(tmpdir(), 'amh-tls-'))): TestCa {
  openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30', '-subj', `/CN=${name}`,
      '-keyout', `${name}.key`, '-out', `${name}.crt`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return { dir, certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}

export interface IssueOptions {
  /** subjectAltName, e.g. `IP:127.0.0.1,DNS:localhost`. */
  san?: string;
  usage?: 'serverAuth' | 'clientAuth';
  /** Encrypt the key (PKCS#8, AES-256) with this passphrase. */
  passphrase?: string;
}

/** A leaf certificate `name` signed by `ca`. */
export function issueCert(ca: TestCa, name: string, options: IssueOptions = {}): IssuedCert {
  const { dir } = ca;
  const ext = [`extendedKeyUsage=${options.usage ?? 'serverAuth'}`, 'basicConstraints=CA:FALSE'];
  if (options.san) ext.unshift(`subjectAltName=${options.san}`);
  writeFileSync(join(dir, `${name}.ext`), `${ext.join('\n')}\n`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', `/CN=${name}`, '-keyout', `${name}.plain.key`, '-out', `${name}.csr`], dir);
  openssl(
    ['x509', '-req', '-sha256', '-days', '30', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial',
      '-extfile', `${name}.ext`, '-out', `${name}.crt`],
    dir,
  );
  if (options.passphrase) {
    writeFileSync(join(dir, `${name}.pass`), options.passphrase);
    openssl(['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-in', `${name}.plain.key`, '-passout', `file:${name}.pass`, '-out', `${name}.key`], dir);
  } else {
    openssl(['pkey', '-in', `${name}.plain.key`, '-out', `${name}.key`], dir);
  }
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
