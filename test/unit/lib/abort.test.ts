import { describe, expect, it } from 'vitest';
import { deadlineOn, deadlineSignal } from '../../../src/lib/abort.js';

describe('deadlineSignal', () => {
  it('aborts at its deadline with a TimeoutError, and says it timed out', async () => {
    const d = deadlineSignal(20);
    expect(d.signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(d.timedOut).toBe(true);
    d.dispose();
  });

  it("aborts with its parent's reason, not timed out until the deadline also passes", async () => {
    const parent = new AbortController();
    const d = deadlineSignal(40, parent.signal);
    parent.abort(new Error('shutting down'));
    expect(d.signal.aborted).toBe(true);
    expect((d.signal.reason as Error).message).toBe('shutting down');
    expect(d.timedOut).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(d.timedOut).toBe(true);
    d.dispose();
  });

  it('after dispose: neither the deadline nor the parent aborts it, and the parent holds no listener of it', async () => {
    const parent = new AbortController();
    let listeners = 0;
    const add = parent.signal.addEventListener.bind(parent.signal);
    const remove = parent.signal.removeEventListener.bind(parent.signal);
    parent.signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
    parent.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
    const d = deadlineSignal(20, parent.signal);
    expect(listeners).toBe(1);
    d.dispose();
    expect(listeners).toBe(0);
    parent.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(d.signal.aborted).toBe(false);
    expect(d.timedOut).toBe(false);
  });

  it('starts aborted under a parent that already is', () => {
    const parent = new AbortController();
    parent.abort('gone');
    const d = deadlineSignal(1000, parent.signal);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe('gone');
    d.dispose();
  });
});

describe('deadlineOn', () => {
  it("aborts the caller's controller at its deadline with a TimeoutError, and says it timed out", async () => {
    const controller = new AbortController();
    const d = deadlineOn(controller, 20);
    expect(d.signal).toBe(controller.signal);
    expect(d.timedOut).toBe(false);
    await new Promise((r) => setTimeout(r, 60));
    expect(controller.signal.aborted).toBe(true);
    expect((controller.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(d.timedOut).toBe(true);
    d.dispose();
  });

  it("keeps the owner's own abort reason, and is not timed out until the deadline also passes", async () => {
    const controller = new AbortController();
    const d = deadlineOn(controller, 40);
    controller.abort(new Error('superseded'));
    expect(d.timedOut).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(d.timedOut).toBe(true);
    expect((controller.signal.reason as Error).message).toBe('superseded');
    d.dispose();
  });

  it('after dispose the deadline aborts nothing', async () => {
    const controller = new AbortController();
    const d = deadlineOn(controller, 20);
    d.dispose();
    await new Promise((r) => setTimeout(r, 50));
    expect(controller.signal.aborted).toBe(false);
    expect(d.timedOut).toBe(false);
  });
});
