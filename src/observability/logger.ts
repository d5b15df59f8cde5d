import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerSettings {
  level?: string;
  /** Write to this file descriptor (default 1, stdout). */
  destination?: number | string;
}

/** The root logger. Secrets that may appear in events are redacted. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    name: 'amh',
    level: settings.level ?? process.env.AMH_LOG_LEVEL ?? 'info',
    redact: {
      paths: ['*.ssh_keys', '*.user_ssh_keys', '*.bgp_key', '*.password', 'extraVars.slice.user_ssh_keys'],
      censor: '[redacted]',
    },
  };
  return pino(options, pino.destination(settings.destination ?? 1));
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
