import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** A handler's Prometheus metrics, in a registry of its own (nothing global is touched). */
export class Metrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({
    name: "mecha_runs_total",
    help: "Runs that ended, by final status.",
    labelNames: ["status"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "mecha_run_duration_seconds",
    help: "Wall-clock time of runs that ended, from start to end.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  constructor(
    capacity: () => { running: number; queued: number; sessions?: number },
    /** With runs distributed over Redis: the live runners, for `mecha_runners` and per runner. */
    runners?: () => readonly {
      id: string;
      running: number;
      maxConcurrent: number;
      sessions?: number;
    }[],
  ) {
    const registry = this.registry;
    new Gauge({
      name: "mecha_runs_running",
      help: "Runs executing now.",
      registers: [registry],
      collect() {
        this.set(capacity().running);
      },
    });
    new Gauge({
      name: "mecha_runs_queued",
      help: "Runs waiting for a slot.",
      registers: [registry],
      collect() {
        this.set(capacity().queued);
      },
    });
    new Gauge({
      name: "mecha_sessions_open",
      help: "Sessions open now (an interpreter kept between runs).",
      registers: [registry],
      collect() {
        this.set(capacity().sessions ?? 0);
      },
    });
    if (runners) {
      new Gauge({
        name: "mecha_runners",
        help: "Live runners taking runs (Redis deployments).",
        registers: [registry],
        collect() {
          this.set(runners().length);
        },
      });
      const perRunner = (
        name: string,
        help: string,
        read: (r: { running: number; maxConcurrent: number; sessions?: number }) => number,
      ) =>
        new Gauge({
          name,
          help,
          labelNames: ["runner"] as const,
          registers: [registry],
          collect() {
            this.reset();
            for (const runner of runners()) this.set({ runner: runner.id }, read(runner));
          },
        });
      perRunner("mecha_runner_running", "Runs executing on each live runner.", (r) => r.running);
      perRunner(
        "mecha_runner_max_concurrent",
        "Runs each live runner executes at once at most.",
        (r) => r.maxConcurrent,
      );
      perRunner(
        "mecha_runner_sessions",
        "Sessions each live runner holds.",
        (r) => r.sessions ?? 0,
      );
    }
    collectDefaultMetrics({ register: registry, prefix: "mecha_process_" });
  }

  /** Counts a run that ended. */
  ended(status: string, durationMs: number): void {
    this.runs.inc({ status });
    this.duration.observe(durationMs / 1000);
  }

  /** The metrics as Prometheus text. */
  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
