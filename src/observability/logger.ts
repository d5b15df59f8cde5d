import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { lazyLogger } from './lazy-logger.js';
import { Scrubber } from './redact.js';

export type { Logger };

export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggerSettings {
  level?: string;
  /** Write to this file descriptor or file (default 1, stdout). */
  destination?: number | string;
  /**
   * `json` (one object per line), `pretty` (readable lines for a person), or
   * `auto` (default): pretty when the destination is a terminal, JSON otherwise.
   * Env `AMH_LOG_FORMAT` overrides the default.
   */
  format?: LogFormat;
}

/** The scrubber of a logger: the root's (patterns only) or one with an event's secrets (see withSecrets). */
const SCRUBBER = Symbol('amh.scrubber');
type Scrubbed = Logger & { [SCRUBBER]?: Scrubber };
const PATTERNS_ONLY = new Scrubber();

/**
 * The root logger. Every line goes through the redaction hook first:
 * sensitive fields at any depth, SSH keys and private keys in any string,
 * and the known secrets of the event a child logger was made for.
 */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const destination = settings.destination ?? 1;
  const options: LoggerOptions = {
    name: 'amh',
    level: settings.level ?? process.env.AMH_LOG_LEVEL ?? 'info',
    hooks: {
      logMethod(args, method) {
        const scrubber = (this as Scrubbed)[SCRUBBER] ?? PATTERNS_ONLY;
        method.apply(this, scrubber.logArgs(args) as Parameters<typeof method>);
      },
    },
  };
  return pino(options, stream(destination, resolveFormat(settings.format, destination)));
}

/** `pretty` or `json` for this destination: an explicit format wins, then AMH_LOG_FORMAT, then whether it is a terminal. */
export function resolveFormat(format: LogFormat | undefined, destination: number | string = 1): 'json' | 'pretty' {
  const chosen = format && format !== 'auto' ? format : parseFormat(process.env.AMH_LOG_FORMAT);
  if (chosen && chosen !== 'auto') return chosen;
  return typeof destination === 'number' && isatty(destination) ? 'pretty' : 'json';
}

function parseFormat(value: string | undefined): LogFormat | undefined {
  return value === 'json' || value === 'pretty' || value === 'auto' ? value : undefined;
}

function stream(destination: number | string, format: 'json' | 'pretty'): DestinationStream {
  // A file is written synchronously: nothing is lost when the process ends right after a line.
  if (format === 'json') return typeof destination === 'string' ? pino.destination({ dest: destination, sync: true }) : pino.destination(destination);
  return PinoPretty({
    destination,
    sync: true,
    colorize: typeof destination === 'number' && isatty(destination),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name,instance',
  });
}

/**
 * A child logger that also scrubs these values (an event's secrets, see
 * secretsOf) from everything it and its own children log.
 */
export function withSecrets(logger: Logger, secrets: Iterable<string>): Logger {
  const parent = (logger as Scrubbed)[SCRUBBER] ?? PATTERNS_ONLY;
  const scrubber = parent.with(secrets);
  if (scrubber.secrets.length === parent.secrets.length) return logger;
  const child = logger.child({}) as Scrubbed;
  child[SCRUBBER] = scrubber;
  return child;
}

/**
 * `withSecrets(parent.child(bindings), secrets())`, made on first use (see lazyLogger): the child and
 * its bindings when a line is written at an enabled level, the secrets when a line or `scrubberOf` needs them.
 */
export function lazyChildWithSecrets(parent: Logger, bindings: () => Record<string, unknown>, secrets: () => Iterable<string>): Logger {
  let scrubber: Scrubber | undefined;
  const scrub = (): Scrubber => (scrubber ??= ((parent as Scrubbed)[SCRUBBER] ?? PATTERNS_ONLY).with(secrets()));
  return lazyLogger(
    parent,
    () => {
      const child = parent.child(bindings()) as Scrubbed;
      child[SCRUBBER] = scrub();
      return child;
    },
    (prop) => (prop === SCRUBBER ? scrub() : undefined),
  );
}

/** The scrubber a logger applies (for text that leaves by another way, e.g. a reply's message). */
export function scrubberOf(logger: Logger): Scrubber {
  return (logger as Scrubbed)[SCRUBBER] ?? PATTERNS_ONLY;
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
