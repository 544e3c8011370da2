import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Limits, RunResult, RuntimeInfo } from "@mecha/protocol";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { resultOf, unreadableResult } from "../runs/results";
import { sinkTo } from "../runs/sinkTo";
import type { Logger, RunJob, Runtime } from "../runtime/types";
import { VERSION } from "../version";
import type { RunnerInfo } from "./clusterMonitor";
import { heldTo } from "./heldTo";
import { readJobData } from "./jobData";
import { BLOCKING, type RedisConnections } from "./redisConnections";
import { RunnerRun, type RunnerRunContext } from "./runnerRun";
import { RunnerSessions, type Starter } from "./runnerSessions";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref?.());

export interface RunnerSettings {
  /** Runs this runner executes at once. */
  maxConcurrent: number;
  /** How long ended runs stay readable. */
  retainMs: number;
  /** Sessions this runner holds at once (0: none). */
  maxSessions: number;
  /** The longest a session held here may wait for its next run. */
  sessionIdleTimeoutMs: number;
  /** The most a run here is given; a run its API instance allowed more is held to these. */
  maxLimits: Limits;
}

/** Hooks that observe what a runner executed (metrics). */
export interface RunnerObserver {
  finished?(result: RunResult): void;
}

/**
 * Executes runs from the queue on this machine, with every isolation layer of its runtime and
 * its own `maxConcurrent`: BullMQ hands it jobs; Redis decides, atomically, that it is a run's
 * only executor (`claim`), so a run is never executed twice — BullMQ's stalled-job retry is off.
 * It says it is alive every heartbeat; when it goes silent, any instance ends its runs `lost`.
 * It also holds sessions (see RunnerSessions): their runs come through its inbox, not the queue.
 */
export class Runner {
  readonly id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly active = new Map<string, RunnerRun>();
  /** Jobs being processed (a run's whole life here, from its claim to its reported end). */
  private readonly processing = new Set<Promise<void>>();
  private worker: Worker | null = null;
  private blocking: Redis | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stops: (() => void)[] = [];
  private info: RuntimeInfo | null = null;
  private packages: string | null = null;
  private packagesSent = false;
  private draining = false;
  private readonly startedAt = Date.now();
  private starting: Promise<void> | null = null;
  /** It has said it is alive at least once. */
  private beaten = false;
  readonly sessions: RunnerSessions;

  constructor(
    private readonly connections: RedisConnections,
    readonly runtime: Runtime,
    private readonly settings: RunnerSettings,
    private readonly logger: Logger,
    private readonly observer: RunnerObserver = {},
  ) {
    this.sessions = new RunnerSessions(
      connections,
      runtime,
      {
        maxSessions: settings.maxSessions,
        idleTimeoutMs: settings.sessionIdleTimeoutMs,
        maxLimits: settings.maxLimits,
        graceMs: 2 * connections.opts.lostAfterMs,
      },
      logger,
      {
        runnerId: this.id,
        take: (job, start) => this.take(job, start),
        refuse: (id, reason) => this.refuse(id, reason),
        cancel: (id) => this.active.get(id)?.cancel(),
        track: (work) => void this.track(work),
      },
    );
  }

  /** Runs executing here now. */
  get running(): number {
    return this.active.size;
  }

  get maxConcurrent(): number {
    return this.settings.maxConcurrent;
  }

  /**
   * Starts the runtime, joins the deployment and takes runs; rejects saying why it cannot, and
   * tries again when called again.
   */
  start(): Promise<void> {
    this.starting ??= this.join().catch((error: unknown) => {
      this.starting = null;
      throw error;
    });
    return this.starting;
  }

  private async join(): Promise<void> {
    // The runtime's own start-up (an interpreter, the sandbox, warm runs) before the first job.
    const runtime = this.runtime as Runtime & { ready?: () => Promise<void> };
    if (typeof runtime.ready === "function") await runtime.ready();
    this.info = await this.runtime.info();
    this.packages = JSON.stringify((await this.runtime.packages?.()) ?? []);
    const { channels, keys, opts } = this.connections;
    await this.connections.open();
    this.stops.push(
      await channels.listen(keys.runnerChannel(this.id), (message) => this.control(message)),
      channels.onReconnect(() => this.resync()),
    );
    await this.beat();
    this.timer = setInterval(() => void this.beat(), opts.heartbeatMs);
    this.timer.unref?.();
    this.blocking = new Redis(opts.redis, {
      ...BLOCKING,
      connectionName: `mecha:${this.id}:queue`,
    });
    this.blocking.on("error", () => {});
    this.worker = new Worker(keys.queue, (job) => this.track(this.process(job)), {
      connection: this.blocking,
      prefix: keys.prefix,
      concurrency: this.settings.maxConcurrent,
      // A job whose runner vanished is failed, never handed to another runner: it may have run.
      maxStalledCount: 0,
      maxStartedAttempts: 1,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 0 },
      name: this.id,
    });
    this.worker.on("error", (error) => {
      if (this.connections.reachable) {
        this.logger.warn("mecha: runner's queue failed", { runner: this.id, error: error.message });
      }
    });
    this.logger.info("mecha: runner joined", {
      runner: this.id,
      maxConcurrent: this.settings.maxConcurrent,
    });
  }

  /** Says this runner is alive, with what it runs and how busy it is. */
  private async beat(): Promise<void> {
    const { command, keys, opts } = this.connections;
    const info: RunnerInfo = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      version: VERSION,
      maxConcurrent: this.settings.maxConcurrent,
      running: this.active.size,
      draining: this.draining,
      sessions: this.sessions.open,
      maxSessions: this.sessions.max,
      runtime: this.info!,
      features: (this.runtime.features ?? []).filter(
        (feature) => feature !== "sessions" || this.sessions.enabled,
      ),
      startedAt: this.startedAt,
    };
    try {
      const [hasPackages, known, inbox] = (await command.run(
        "beat",
        [keys.runners, keys.runner(this.id), keys.runnerInbox(this.id)],
        [
          this.id,
          JSON.stringify(info),
          opts.lostAfterMs * 2,
          this.packagesSent ? "" : this.packages!,
        ],
      )) as [number, number, number];
      this.packagesSent = hasPackages === 1;
      // Declared gone while it was out of reach: its runs and sessions were lost meanwhile.
      if (known === 0 && this.beaten) {
        void this.sessions.verify();
        for (const run of this.active.values()) void run.check();
      }
      this.beaten = true;
      // A request whose message was lost (a reconnect) waits at most a heartbeat.
      if (inbox > 0) this.sessions.drain();
    } catch {
      this.packagesSent = false;
    }
  }

  private context(): RunnerRunContext {
    const { command, keys, opts } = this.connections;
    return {
      command,
      keys,
      runnerId: this.id,
      maxEvents: opts.maxEvents,
      retainMs: this.settings.retainMs,
      reportForMs: opts.lostAfterMs * 2,
    };
  }

  private track<T>(processing: Promise<T>): Promise<T> {
    const tracked = processing.then(
      () => {},
      () => {},
    );
    this.processing.add(tracked);
    void tracked.finally(() => this.processing.delete(tracked));
    return processing;
  }

  private async process(job: Job): Promise<void> {
    const read = readJobData(job.data);
    if ("error" in read) {
      await this.refuse(job.id!, read.error);
      throw new UnrecoverableError(read.error);
    }
    await this.take(read.job, (queued, sink) => this.runtime.start(queued, sink));
  }

  /**
   * Claims a run and executes it: `start` starts its program (the runtime's, or a session's),
   * or gives the result it ends with unrun. Null when it was not this runner's to run.
   */
  private async take(asked: RunJob, start: Starter): Promise<RunResult | null> {
    const job = { ...asked, limits: heldTo(asked.limits, this.settings.maxLimits) };
    const run = new RunnerRun(job.id, this.context());
    this.active.set(job.id, run);
    try {
      const claim = await this.claim(run, job.limits);
      if (!claim) return null;
      run.claimed = true;
      return await this.execute(run, job, claim, start);
    } finally {
      this.active.delete(job.id);
    }
  }

  /** Makes this runner the run's only executor; null when it was cancelled, expired or taken. */
  private async claim(run: RunnerRun, limits?: Limits): Promise<string[] | null> {
    const { command, keys, opts } = this.connections;
    const started = JSON.stringify({ type: "started", id: run.id, seq: 0, limits });
    const [state, input] = (await command.run(
      "claim",
      [keys.run(run.id), keys.events(run.id), keys.stdin(run.id), keys.runnerRuns(this.id)],
      [
        this.id,
        run.id,
        started,
        keys.runChannel(run.id),
        opts.maxEvents,
        limits ? JSON.stringify(limits) : "",
      ],
    )) as [string, string[]?];
    if (state !== "ok") {
      this.logger.debug?.("mecha: run not started", { run: run.id, runner: this.id, state });
      return null;
    }
    return input ?? [];
  }

  private async execute(
    run: RunnerRun,
    job: RunJob,
    input: string[],
    start: Starter,
  ): Promise<RunResult> {
    let result: RunResult;
    try {
      const program = start(
        job,
        sinkTo((event) => run.push(event)),
      );
      if ("status" in program) result = program;
      else {
        run.attach(program, input);
        result = resultOf(job, await program.done);
      }
    } catch (error) {
      this.logger.error("mecha: run failed to start", { run: run.id, runner: this.id, error });
      result = unreadableResult(
        run.id,
        job.limits,
        `The runner could not start the run: ${(error as Error).message}`,
      );
    }
    if (await run.finish(result)) {
      this.observer.finished?.(result);
      this.logger.debug?.("mecha: run finished", {
        run: run.id,
        runner: this.id,
        status: result.status,
        durationMs: result.durationMs,
      });
    } else {
      this.logger.warn("mecha: run ended on a runner that no longer held it", {
        run: run.id,
        runner: this.id,
      });
    }
    return result;
  }

  /** Fails a run whose job this runner cannot read, saying why; the runner goes on. */
  private async refuse(id: string, reason: string): Promise<void> {
    this.logger.warn("mecha: run refused", { run: id, runner: this.id, reason });
    const run = new RunnerRun(id, this.context());
    try {
      if (await this.claim(run)) await run.finish(unreadableResult(id, undefined, reason));
    } catch {
      // Redis out of reach: the run stays queued and its request gets 503 busy.
    }
  }

  /** `stdin <id>` or `cancel <id>` for a run held here, or `inbox`, from any API instance. */
  private control(message: string): void {
    if (message === "inbox") {
      this.sessions.drain();
      return;
    }
    const [kind, id] = message.split(" ");
    const run = this.active.get(id ?? "");
    if (!run) return;
    if (kind === "cancel") run.cancel();
    else if (kind === "stdin") run.takeInput();
  }

  /**
   * After a reconnect (messages may have been lost): input and cancels for every run here, and
   * the runs no longer this runner's stopped.
   */
  private resync(): void {
    this.sessions.drain();
    void this.sessions.verify();
    for (const run of this.active.values()) {
      run.takeInput();
      void run.check();
    }
  }

  /**
   * Drains: takes no new runs, lets the ones it holds finish, then leaves the deployment. Runs
   * still queued stay in the queue for the other runners. Its sessions end: their runs in
   * progress finish, and their next run is 410 `session_lost`.
   */
  async close(): Promise<void> {
    this.draining = true;
    if (!this.starting) return;
    await this.starting.catch(() => {});
    await this.sessions.retire();
    await this.beat();
    // BullMQ stops fetching at once; its close settles once its jobs are done.
    const closing = this.worker?.close().catch(() => {});
    while (this.processing.size > 0) await Promise.all(this.processing).catch(() => {});
    await this.sessions.closeAll();
    // The runs are done; BullMQ's own connections do not hold a drained runner up (Redis may
    // be out of reach).
    await Promise.race([closing, sleep(2000)]);
    if (this.timer) clearInterval(this.timer);
    for (const stop of this.stops.splice(0)) stop();
    const { command, keys } = this.connections;
    await command.redis
      .multi()
      .zrem(keys.runners, this.id)
      .del(
        keys.runner(this.id),
        keys.runnerRuns(this.id),
        keys.runnerSessions(this.id),
        keys.runnerInbox(this.id),
      )
      .exec()
      .catch(() => {});
    this.blocking?.disconnect();
    this.logger.info("mecha: runner left", { runner: this.id });
  }
}
