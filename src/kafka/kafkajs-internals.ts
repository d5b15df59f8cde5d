import { createRequire } from 'node:module';

/**
 * What the run-time patches of kafkajs (kafkajs-encoder.ts, kafkajs-resume.ts) share: the one release they
 * are written against, the release found, and the modules they patch. kafkajs 2.2.4 is its last release;
 * with any other, every patch stays out and says why (`amh run` logs it).
 */

/** The kafkajs release the patches are written for. */
export const PATCHED_KAFKAJS = '2.2.4';

const require = createRequire(import.meta.url);

/** Where a patch stands in this process. */
export interface KafkajsPatch {
  installed: boolean;
  /** The kafkajs release found. */
  version: string;
  /** Why it is not installed, when it is not. */
  reason?: string;
}

/** The kafkajs release installed, or 'unknown'. */
export function kafkajsVersion(): string {
  try {
    return (require('kafkajs/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A module of kafkajs' own sources, e.g. 'src/protocol/encoder.js'. */
export function kafkajsModule<T>(path: string): T {
  return require(`kafkajs/${path}`) as T;
}

/** Null when the patches may go in; else the patch's answer saying why not. */
export function unpatchable(version: string): KafkajsPatch | null {
  return version === PATCHED_KAFKAJS ? null : { installed: false, version, reason: `written for kafkajs ${PATCHED_KAFKAJS}, found ${version}` };
}
