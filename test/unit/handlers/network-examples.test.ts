import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AvroCodec, SchemaCatalog } from '../../../src/codec/index.js';
import { networkPlugin } from '../../../src/handlers/network/index.js';
import { switchPlugin } from '../../../src/handlers/switch/index.js';
import { REPO } from '../../helpers/config.js';
import { settingsOf } from '../../helpers/network-unit.js';

const catalog = SchemaCatalog.load();
const codec = new AvroCodec(catalog);

/** An example file as `amh send` would publish it (it fills event_id and timestamp). */
function example(file: string) {
  const raw = { event_id: 'e-1', timestamp: 0, ...(parse(readFileSync(join(REPO, 'examples', file), 'utf8')) as object) };
  return codec.complete<'event'>(catalog.current('event'), raw);
}

// The examples a user sends with `amh send` must be valid events that pass the handler's checks.
describe('network and switch examples', () => {
  it('examples/l2ptp-redeem.yaml and l2ptp-close.yaml are valid L2PTP events', () => {
    const settings = settingsOf(networkPlugin);
    for (const file of ['l2ptp-redeem.yaml', 'l2ptp-close.yaml']) expect(() => networkPlugin.validate?.(example(file), settings)).not.toThrow();
  });

  it('examples/switch-redeem.yaml is a valid Switch event', () => {
    expect(() => switchPlugin.validate?.(example('switch-redeem.yaml'), settingsOf(switchPlugin))).not.toThrow();
  });
});
