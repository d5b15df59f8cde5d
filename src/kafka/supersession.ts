import type { SliverEvent } from '../codec/types.js';
import type { Logger } from '../observability/logger.js';

interface Running {
  event: SliverEvent;
  controller: AbortController;
  /** Stops listening to the shutdown signal. */
  detach: () => void;
}

/**
 * A CLOSE that arrives while the same sliver's create is still
 * running cancels it: the create cleans up what it made and is answered
 * CANCELLED, then the CLOSE runs in its turn. Only a newer CLOSE (higher
 * sequence) does this, so a replayed old CLOSE never cancels anything.
 */
export class Supersession {
  private readonly running = new Map<string, Running>();

  /** A decoded event was accepted (before it waits for its lane). */
  arrived(event: SliverEvent, logger: Logger): void {
    if (event.operation !== 'CLOSE') return;
    const current = this.running.get(event.sliver_id);
    if (!current || current.event.sequence >= event.sequence) return;
    if (current.event.operation !== 'REDEEM') return;
    logger.warn(
      { cancelled: current.event.event_id },
      `CLOSE supersedes the running ${current.event.operation}: cancelling it`,
    );
    current.controller.abort(new Error(`superseded by CLOSE ${event.event_id} (sequence ${event.sequence})`));
  }

  /** The event got its lane: the signal its operation runs under. */
  started(event: SliverEvent, shutdown: AbortSignal): AbortSignal {
    const controller = new AbortController();
    // Not AbortSignal.any([shutdown, ...]): on Node 20 every such call leaves a WeakRef
    // on the long-lived shutdown signal that is never freed (nodejs/node#55351).
    const onShutdown = (): void => controller.abort(shutdown.reason);
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    this.running.set(event.sliver_id, { event, controller, detach: () => shutdown.removeEventListener('abort', onShutdown) });
    return controller.signal;
  }

  finished(event: SliverEvent): void {
    const current = this.running.get(event.sliver_id);
    if (current?.event !== event) return;
    current.detach();
    this.running.delete(event.sliver_id);
  }
}
