/**
 * Poll, wait, poll again, until stopped: the loop the blob trigger and the Event Grid stand-in
 * share. A failed poll is reported and the loop goes on; `stop` waits for a poll in progress.
 */
export class PollingLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly poll: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Whether `stop` has been called: long polls check it between items. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    const loop = async (): Promise<void> => {
      if (this.stopping) return;
      this.running = this.poll().catch(this.onError);
      await this.running;
      if (!this.stopping) this.timer = setTimeout(() => void loop(), this.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
