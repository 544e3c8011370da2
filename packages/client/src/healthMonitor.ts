import type { Timers } from "./timers";

export interface HealthMonitorOptions<T> {
  timers: Timers;
  /** One health check. Its settling schedules the next. */
  check: () => Promise<T>;
  /** Milliseconds until the next scheduled check, read after each check settles. */
  nextDelay: () => number;
}

export interface HealthMonitor<T> {
  /** Starts polling with an immediate check; later calls do nothing. */
  start(): void;
  /** Stops polling. A check in flight still settles but schedules nothing. */
  stop(): void;
  /** Checks now, or joins the check in flight; either way the schedule restarts after it. */
  check(): Promise<T>;
  readonly running: boolean;
}

const ignore = () => {};

/**
 * Schedules health checks: never two at once, the next one timed by `nextDelay` after each
 * settles. Its timers are unref'd where the platform allows, so polling alone never keeps a
 * Node process alive.
 */
export function createHealthMonitor<T>(options: HealthMonitorOptions<T>): HealthMonitor<T> {
  const { timers } = options;
  let running = false;
  let timer: unknown;
  let inFlight: Promise<T> | null = null;

  const clear = () => {
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  const schedule = () => {
    clear();
    if (!running) return;
    timer = timers.setTimeout(() => {
      timer = undefined;
      monitor.check().catch(ignore);
    }, options.nextDelay());
    (timer as { unref?: () => void } | undefined)?.unref?.();
  };

  const monitor: HealthMonitor<T> = {
    start() {
      if (running) return;
      running = true;
      monitor.check().catch(ignore);
    },
    stop() {
      running = false;
      clear();
    },
    check() {
      if (!inFlight) {
        clear();
        inFlight = options.check().finally(() => {
          inFlight = null;
          schedule();
        });
      }
      return inFlight;
    },
    get running() {
      return running;
    },
  };
  return monitor;
}
