import type { Isolation, RuntimeInfo, RuntimePackage } from "@mecha/protocol";
import { HttpError } from "../httpError";
import type { Runtime } from "../runtime/types";
import type { ClusterMonitor } from "./clusterMonitor";
import type { RedisConnections } from "./redisConnections";

const STRENGTH: Record<Isolation, number> = { process: 0, sandbox: 1 };

/**
 * What an API instance says of the runtime behind it: the live runners' (the weakest isolation
 * among them, since a run may land on any), their packages and features. It runs nothing; with
 * Redis out of reach or no runner, `info()` rejects, so `/health` is 503 `unavailable`.
 */
export function clusterRuntime(connections: RedisConnections, monitor: ClusterMonitor): Runtime {
  const weakest = () =>
    monitor.available.reduce<ClusterMonitor["runners"][number] | undefined>(
      (worst, runner) =>
        !worst || STRENGTH[runner.runtime.isolation] < STRENGTH[worst.runtime.isolation]
          ? runner
          : worst,
      undefined,
    );
  return {
    async info(): Promise<RuntimeInfo> {
      connections.assertReachable();
      if (!monitor.fresh) {
        throw new HttpError(
          "unavailable",
          "Redis has not answered for a while; try again shortly.",
          {
            retryAfter: 2,
          },
        );
      }
      const runner = weakest();
      if (!runner) {
        throw new HttpError(
          "unavailable",
          "No runner is connected to take runs; try again shortly.",
          {
            retryAfter: 2,
          },
        );
      }
      return runner.runtime;
    },
    async packages(): Promise<RuntimePackage[]> {
      const runner = weakest();
      if (!runner) return [];
      const packages = await connections.command.redis
        .hget(connections.keys.runner(runner.id), "packages")
        .catch(() => null);
      return packages ? (JSON.parse(packages) as RuntimePackage[]) : [];
    },
    get features() {
      const runners = monitor.available;
      const all = new Set(runners.flatMap((runner) => runner.features));
      // What every runner has, since a run may land on any of them; sessions where any holds
      // them, since a session is opened on a runner that does.
      const common = [...all].filter(
        (name) => name === "sessions" || runners.every((r) => r.features.includes(name)),
      );
      return [...common, "redis"];
    },
    start() {
      throw new Error("An API instance runs no programs: its runs go to runners over Redis.");
    },
    async close() {},
  };
}

/** A runner's own runtime as its `/health` reports it: unavailable while Redis is out of reach. */
export function runnerRuntime(runtime: Runtime, connections: RedisConnections): Runtime {
  return {
    info: () => {
      connections.assertReachable();
      return runtime.info();
    },
    ...(runtime.packages ? { packages: () => runtime.packages!() } : {}),
    features: [...(runtime.features ?? []), "redis"],
    start: (job, sink) => runtime.start(job, sink),
    close: () => runtime.close(),
  };
}
