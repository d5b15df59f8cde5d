import { format } from 'node:util';
import { pino } from 'pino';

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/**
 * Field names whose values are secrets wherever they sit (any depth, any
 * casing): passwords, tokens, API keys, private and BGP keys, SSH keys,
 * credentials. Names of where a secret is kept (`password_env`,
 * `key_file`, `ssh_key_count`) are not secrets.
 */
const SENSITIVE_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|bgp[-_]?key|md5[-_]?key|ssh[-_]?keys?|authori[sz]ation|credential|cookie/i;
const NOT_SENSITIVE = /(_env|_file|_path|_count|_changed)$/i;

/** SSH public keys and private key blocks inside any string (a key pasted into a label, an error, a command line). */
const SSH_PUBLIC_KEY = /\b(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]{8,}={0,3}/g;
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** Shorter known secrets are not scrubbed from text (a 3-character password would blank every match in a log line). */
export const MIN_SECRET_LENGTH = 6;
const MAX_DEPTH = 12;

/** Verdicts on field names seen so far: an event's names come from the schema, so two regex tests per field become a lookup. */
const verdicts = new Map<string, boolean>();
/** Names beyond this many (free-form label keys, say) are tested each time rather than kept. */
const MAX_VERDICTS = 4096;

export function isSensitiveKey(key: string): boolean {
  let sensitive = verdicts.get(key);
  if (sensitive === undefined) {
    sensitive = SENSITIVE_KEY.test(key) && !NOT_SENSITIVE.test(key);
    if (verdicts.size < MAX_VERDICTS) verdicts.set(key, sensitive);
  }
  return sensitive;
}

/**
 * Removes secrets from what is about to be logged (or published): values of
 * sensitive fields at any depth, SSH keys and private key blocks anywhere in
 * a string, and the known secret values of the current event (e.g. a BGP key
 * quoted in an error message), also in their JSON-escaped form.
 */
export class Scrubber {
  private readonly values: string[];

  constructor(secrets: Iterable<string> = []) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      all.add(s);
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) all.add(escaped);
      // What JSON-escaping it once more looks like (a result that embeds a JSON string).
      const twice = JSON.stringify(escaped).slice(1, -1);
      if (twice !== escaped) all.add(twice);
    }
    // Longest first, so a secret that contains another is removed whole.
    this.values = [...all].sort((a, b) => b.length - a.length);
  }

  get secrets(): readonly string[] {
    return this.values;
  }

  /** The same scrubber with more known values. */
  with(secrets: Iterable<string>): Scrubber {
    return new Scrubber([...this.values, ...secrets]);
  }

  text(text: string): string {
    let out = text;
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    if (out.includes('PRIVATE KEY-----')) out = out.replace(PRIVATE_KEY_BLOCK, REDACTED);
    return out.replace(SSH_PUBLIC_KEY, `$1 ${REDACTED}`);
  }

  /** A copy of value with every secret removed (the original is not touched). */
  value(value: unknown): unknown {
    return this.walk(value, 0, new WeakSet());
  }

  private walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value !== 'object' || value === null) return value;
    if (seen.has(value)) return '[circular]';
    if (depth >= MAX_DEPTH) return '[too deep]';
    if (Buffer.isBuffer(value) || value instanceof Date) return value;
    seen.add(value);
    try {
      if (value instanceof Error) return this.walk(pino.stdSerializers.err(value), depth, seen);
      if (Array.isArray(value)) return value.map((v) => this.walk(v, depth + 1, seen));
      if (value instanceof Map) return this.walk(Object.fromEntries(value), depth, seen);
      if (value instanceof Set) return this.walk([...value], depth, seen);
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        out[key] = isSensitiveKey(key) && v !== null && typeof v !== 'number' && typeof v !== 'boolean' ? REDACTED : this.walk(v, depth + 1, seen);
      }
      return out;
    } finally {
      seen.delete(value);
    }
  }

  /** The arguments of a pino log call, scrubbed (a format string and its arguments are formatted first). */
  logArgs(args: unknown[]): unknown[] {
    let [first, ...rest] = args;
    if (first instanceof Error) {
      rest = rest.length > 0 ? rest : [first.message];
      first = { err: first };
    }
    if (typeof first === 'object' && first !== null) {
      return [this.value(first), ...this.message(rest)];
    }
    return this.message([first, ...rest]);
  }

  private message(args: unknown[]): unknown[] {
    if (args.length === 0) return args;
    const [msg, ...params] = args;
    if (typeof msg !== 'string') return args.length === 1 && msg === undefined ? [] : [this.text(format(msg, ...params))];
    return [this.text(params.length > 0 ? format(msg, ...params) : msg)];
  }
}

/**
 * Every secret an event carries, wherever the schema lets it sit: values of
 * sensitive fields (the slice's SSH keys, a peering's BGP key, a label named
 * like a password or token, at any depth) and the SSH keys of a POA
 * (`poa.args.keys`).
 */
export function secretsOf(event: unknown): string[] {
  const found = new Set<string>();
  const collect = (value: unknown, secret: boolean, depth: number): void => {
    if (depth > MAX_DEPTH) return;
    if (typeof value === 'string') {
      if (secret && value) found.add(value);
    } else if (Array.isArray(value)) {
      for (const v of value) collect(v, secret, depth + 1);
    } else if (typeof value === 'object' && value !== null) {
      // Keys, not entries: this walks every field of every event, and entries allocate a pair per field.
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) collect(record[key], secret || isSensitiveKey(key) || key === 'keys', depth + 1);
    }
  };
  collect(event, false, 0);
  // A key's comment (user@host) is not secret and would blank every mention of it.
  const comments = new Set<string>();
  const keysOf = (list: unknown): void => {
    if (Array.isArray(list)) for (const k of list) if (typeof k === 'object' && k && typeof (k as { comment?: unknown }).comment === 'string') comments.add((k as { comment: string }).comment);
  };
  const e = event as { slice?: { user_ssh_keys?: unknown }; poa?: { args?: { keys?: unknown } } };
  keysOf(e.slice?.user_ssh_keys);
  keysOf(e.poa?.args?.keys);
  for (const c of comments) found.delete(c);
  return [...found];
}
