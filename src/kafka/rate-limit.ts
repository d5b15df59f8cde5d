/**
 * At most `max` events per sliding `windowMs`. Used to stop the consumer
 * when dead letters pile up (a bad deploy or a wrong topic), instead of
 * dead-lettering a whole topic.
 */
export class SlidingWindowLimit {
  private readonly times: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count one more event; false when that would exceed the limit (the event is not counted). */
  tryTake(): boolean {
    const at = this.now();
    while (this.times.length > 0 && (this.times[0] as number) <= at - this.windowMs) this.times.shift();
    if (this.times.length >= this.max) return false;
    this.times.push(at);
    return true;
  }
}
