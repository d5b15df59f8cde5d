import { describe, expect, it } from 'vitest';
import { PATCHED_KAFKAJS, prototypePatch } from '../../../src/kafka/kafkajs-internals.js';

interface Queue {
  scheduleCheckPendingRequests(): void;
  noSuchMethod(): void;
}

describe('prototypePatch', () => {
  it('names the methods a kafkajs class lacks instead of patching it', () => {
    let applied = 0;
    const patch = prototypePatch<Queue>({
      module: 'src/network/requestQueue/index.js',
      className: 'RequestQueue',
      methods: ['scheduleCheckPendingRequests', 'noSuchMethod'],
      apply: () => (applied++, () => {}),
    });
    expect(patch.install()).toEqual({ installed: false, version: PATCHED_KAFKAJS, reason: 'kafkajs RequestQueue lacks noSuchMethod' });
    expect(applied).toBe(0);
  });

  it('applies once however often it is installed, and restores once on uninstall', () => {
    let applied = 0;
    let restored = 0;
    const patch = prototypePatch<Queue>({
      module: 'src/network/requestQueue/index.js',
      className: 'RequestQueue',
      methods: ['scheduleCheckPendingRequests'],
      apply: () => (applied++, () => void restored++),
    });
    expect(patch.install()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    expect(patch.install()).toEqual({ installed: true, version: PATCHED_KAFKAJS });
    expect(applied).toBe(1);
    patch.uninstall();
    patch.uninstall();
    expect(restored).toBe(1);
  });
});
