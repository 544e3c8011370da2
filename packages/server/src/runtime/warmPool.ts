import type { Launcher, PreparedRun } from "./launcher";
import type { Logger } from "./types";

/**
 * Interpreters started ahead of demand (isolated, in their cgroup, waiting for a job), so that a
 * run does not wait for one to start. One that dies while waiting is dropped, never handed out.
 */
export class WarmPool {
  private readonly idle: PreparedRun[] = [];
  private starting = 0;
  private closed = false;
  /** Work `close()` waits for. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly launcher: Launcher,
    private readonly size: number,
    private readonly logger: Logger,
  ) {}

  /** A ready interpreter, or null when none is waiting. */
  take(): PreparedRun | null {
    while (this.idle.length > 0) {
      const prepared = this.idle.shift()!;
      if (!prepared.dead) return prepared;
      this.track(prepared.release());
    }
    return null;
  }

  get isEmpty(): boolean {
    return this.idle.length === 0;
  }

  /** Starts interpreters until `size` are waiting or starting. */
  refill(): void {
    while (!this.closed && this.idle.length + this.starting < this.size) {
      this.starting++;
      const next = this.launcher.prepare().then(
        (prepared) => {
          this.starting--;
          if (this.closed || prepared.dead) return prepared.release();
          this.idle.push(prepared);
          void prepared.exited.then(() => {
            const index = this.idle.indexOf(prepared);
            if (index >= 0) {
              this.idle.splice(index, 1);
              this.track(prepared.release());
            }
          });
        },
        (cause) => {
          this.starting--;
          this.logger.warn(`Mecha: could not start a warm interpreter: ${String(cause)}`);
        },
      );
      this.track(next);
    }
  }

  private track(work: Promise<unknown>): void {
    const settled = work.then(
      () => {},
      () => {},
    );
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
  }

  /** Discards every waiting interpreter and waits for those being started. */
  async close(): Promise<void> {
    this.closed = true;
    for (const prepared of this.idle.splice(0)) this.track(prepared.release());
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
