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

/** A patch of one kafkajs class's prototype: where the class is, which methods it needs, and how it applies. */
export interface PrototypePatchSpec<P> {
  /** The module exporting the class, e.g. 'src/consumer/consumerGroup.js'. */
  module: string;
  /** The class's name, for the reason given when it cannot be patched. */
  className: string;
  methods: readonly (keyof P & string)[];
  /** Patches `proto`; returns what puts the originals back. */
  apply(proto: P): () => void;
}

/**
 * install/uninstall for a prototype patch: installed at most once per process (later calls only report),
 * only for the release the patches are written against and when the class has every method it needs.
 */
export function prototypePatch<P>(spec: PrototypePatchSpec<P>): { install(): KafkajsPatch; uninstall(): void } {
  let restore: (() => void) | null = null;
  return {
    install() {
      const version = kafkajsVersion();
      if (restore) return { installed: true, version };
      const refused = unpatchable(version);
      if (refused) return refused;
      const proto = kafkajsModule<{ prototype: P }>(spec.module).prototype;
      const missing = spec.methods.filter((m) => typeof proto[m] !== 'function');
      if (missing.length > 0) return { installed: false, version, reason: `kafkajs ${spec.className} lacks ${missing.join(', ')}` };
      restore = spec.apply(proto);
      return { installed: true, version };
    },
    uninstall() {
      restore?.();
      restore = null;
    },
  };
}
