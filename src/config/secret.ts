import { inspect } from 'node:util';

/**
 * A password or passphrase read at start-up. It prints as `[secret from <source>]`
 * in logs, JSON and `util.inspect`, so a logged config never shows it;
 * `reveal()` gives the value to the one place that needs it (the Kafka client).
 */
export class Secret {
  readonly #value: string;

  constructor(
    value: string,
    /** Where it came from, e.g. `file /etc/amh/kafka.password` or `environment variable AMH_KAFKA_SASL_PASSWORD`. */
    readonly source: string,
  ) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return `[secret from ${this.source}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
