import type { KafkaSecurityReason } from '../errors/index.js';

/**
 * OpenSSL / Node codes of a TLS connection that no retry can fix, by cause.
 * kafkajs wraps them in a (retriable) KafkaJSConnectionError whose `code` is
 * the socket error's code.
 */
const TLS_CODES: Record<string, Exclude<KafkaSecurityReason, 'authentication'>> = {
  // The broker's chain does not lead to a CA we trust (or is out of date).
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted-certificate',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted-certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted-certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted-certificate',
  CERT_UNTRUSTED: 'untrusted-certificate',
  CERT_SIGNATURE_FAILURE: 'untrusted-certificate',
  CERT_HAS_EXPIRED: 'untrusted-certificate',
  CERT_NOT_YET_VALID: 'untrusted-certificate',
  CERT_REVOKED: 'untrusted-certificate',
  CERT_REJECTED: 'untrusted-certificate',
  INVALID_CA: 'untrusted-certificate',
  INVALID_PURPOSE: 'untrusted-certificate',
  // The certificate is fine but names other hosts.
  ERR_TLS_CERT_ALTNAME_INVALID: 'hostname-mismatch',
  // The broker refused our client certificate (or its absence).
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'client-certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'client-certificate',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'client-certificate',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'client-certificate',
  // A plain-TCP listener answered our TLS hello.
  ERR_SSL_WRONG_VERSION_NUMBER: 'not-tls',
  ERR_SSL_PACKET_LENGTH_TOO_LONG: 'not-tls',
};

/** The TLS reason behind a socket error code, if it is one that retrying cannot fix. */
export function tlsFailureReason(code: unknown): Exclude<KafkaSecurityReason, 'authentication'> | undefined {
  return typeof code === 'string' ? TLS_CODES[code] : undefined;
}
