import type { RuntimeInfo } from "@mecha/protocol";
import type { Logger } from "../runtime/types";
import type { RedisConnections } from "./redisConnections";

/** What a runner reports with each heartbeat. */
export interface RunnerInfo {
  id: string;
  host: string;
  pid: number;
  version: string;
  maxConcurrent: number;
  running: number;
  /** Finishing its runs before it stops: it takes no new ones. */
  draining: boolean;
  /** Sessions it holds (their interpreters), and the most it holds at once (0: none). */
  sessions?: number;
  maxSessions?: number;
  runtime: RuntimeInfo;
  features: string[];
  startedAt: number;
}

export const LOST_MESSAGE =
  "The runner executing this run stopped responding (its process or its machine went away) before the run ended. What the program did until then is unknown beyond the output shown; it was not run again.";

/**
 * What this instance knows of the deployment, renewed every heartbeat: the live runners and
 * what each reported, and (given `waiting`) how many runs wait in the queue. Each renewal also
 * ends the runs of runners gone silent as `lost` (any instance may; the first one does).
 */
export class ClusterMonitor {
  runners: RunnerInfo[] = [];
  queued = 0;
  private renewedAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly connections: RedisConnections,
    private readonly logger: Logger,
    private readonly retainMs: number,
    private readonly waiting?: () => Promise<number>,
  ) {}

  /** Whether Redis answered within `lostAfterMs` (a silent Redis is as good as gone). */
  get fresh(): boolean {
    return performance.now() - this.renewedAt < this.connections.opts.lostAfterMs;
  }

  /** Runners taking runs (not draining). */
  get available(): RunnerInfo[] {
    return this.runners.filter((runner) => !runner.draining);
  }

  start(): void {
    if (this.timer) return;
    const { heartbeatMs } = this.connections.opts;
    this.timer = setInterval(() => void this.refresh(), heartbeatMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Renews what is known now (one renewal at a time). */
  refresh(): Promise<void> {
    this.refreshing ??= this.renew().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async renew(): Promise<void> {
    const { command, keys, opts } = this.connections;
    if (!this.connections.reachable) return;
    try {
      const lost = (await command.run(
        "reap",
        [keys.runners],
        [opts.lostAfterMs, keys.prefix, LOST_MESSAGE, this.retainMs, opts.maxEvents],
      )) as string[];
      for (let i = 0; i + 2 < lost.length; i += 3) {
        const [kind, runner, id] = [lost[i], lost[i + 1], lost[i + 2]];
        if (kind === "session") this.logger.warn("mecha: session lost", { session: id, runner });
        else this.logger.warn("mecha: run lost", { run: id, runner });
      }
      const infos = (await command.run(
        "census",
        [keys.runners],
        [opts.lostAfterMs, keys.prefix],
      )) as string[];
      const runners: RunnerInfo[] = [];
      for (const info of infos) {
        try {
          runners.push(JSON.parse(info) as RunnerInfo);
        } catch {
          // a runner of another version: not counted
        }
      }
      this.runners = runners;
      if (this.waiting) this.queued = await this.waiting();
      this.renewedAt = performance.now();
    } catch {
      // not renewed: `fresh` runs out
    }
  }
}
