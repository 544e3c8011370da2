import { Queue } from "bullmq";
import type { RunJob } from "../runtime/types";
import { jobData } from "./jobData";
import type { RedisConnections } from "./redisConnections";

/**
 * BullMQ's queue of runs, as an API instance uses it: made on `open()` (a BullMQ queue connects
 * as soon as it exists, and creating a handler must start nothing), on the instance's command
 * connection.
 */
export class RunQueue {
  private queue: Queue | null = null;

  constructor(private readonly connections: RedisConnections) {}

  open(): void {
    if (this.queue) return;
    const { command, keys } = this.connections;
    this.queue = new Queue(keys.queue, {
      connection: command.redis,
      prefix: keys.prefix,
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
    // Failures reach the callers of add() and the monitor; BullMQ's own are not news.
    this.queue.on("error", () => {});
  }

  private get opened(): Queue {
    if (!this.queue) throw new Error("the run queue is not open");
    return this.queue;
  }

  /** Enqueues a run (its id is the job's). */
  async add(job: RunJob): Promise<void> {
    await this.opened.add("run", jobData(job), { jobId: job.id });
  }

  /** Takes a run that will never start off the queue (best effort: a runner skips it anyway). */
  remove(id: string): void {
    this.queue?.remove(id).catch(() => {});
  }

  /** Runs waiting for a runner. */
  waiting(): Promise<number> {
    return this.opened.getWaitingCount();
  }

  async close(): Promise<void> {
    await this.queue?.close().catch(() => {});
  }
}
