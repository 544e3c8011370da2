import { afterAll, afterEach, beforeAll, vi } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { createRunner, type MechaRunner } from "../../src/createRunner";
import type { HandlerOptions } from "../../src/options";
import type { QueueOptions } from "../../src/queue/queueOptions";
import { fakeRuntime } from "./fakeRuntime";
import { type RedisServer, redisMissing, startRedis } from "./redisServer";

/**
 * For a test file of runs over Redis in this process: one `redis-server` for the file, and
 * deployments (two API instances, runners on a fake runtime the test drives), each on a key
 * prefix of its own and closed after each test. `missing` says why nothing can run.
 */
export function redisDeployments() {
  const missing = redisMissing();
  if (missing) console.warn(`skipped: ${missing}`);
  // Every step waits for an event, but a real Redis and a loaded machine make the steps slow.
  vi.setConfig({ testTimeout: 20_000 });
  const state: { redis: RedisServer | null } = { redis: null };
  beforeAll(async () => {
    if (!missing) state.redis = await startRedis();
  });
  afterAll(async () => {
    await state.redis?.stop();
  });
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });
  let count = 0;

  async function deploy(
    options: {
      api?: HandlerOptions;
      runner?: HandlerOptions;
      queue?: Partial<QueueOptions>;
      /** The runners' fake runtime holds sessions. */
      sessions?: boolean;
    } = {},
  ) {
    const queue = {
      redis: state.redis!.url,
      prefix: `t${++count}`,
      // Quick to see a runner come and go; loose enough for a loaded machine.
      heartbeatMs: 200,
      lostAfterMs: 2000,
      ...options.queue,
    };
    const api = (extra: HandlerOptions = {}): MechaHandler => {
      const handler = createHandler({
        logger: false,
        ...options.api,
        ...extra,
        queue: { ...queue, role: "api" },
      });
      closers.push(() => handler.close());
      return handler;
    };
    const fake = fakeRuntime({ sessions: options.sessions ?? false });
    const addRunner = async (extra: HandlerOptions = {}): Promise<MechaRunner> => {
      const runner = createRunner({
        logger: false,
        runtime: fake.runtime,
        maxConcurrent: 4,
        ...options.runner,
        ...extra,
        queue,
      });
      closers.push(() => runner.close());
      await runner.start();
      return runner;
    };
    const a = api();
    const b = api();
    await Promise.all([a.ready(), b.ready()]);
    return { a, b, api, queue, addRunner, redis: state.redis!, ...fake };
  }
  return { missing, deploy };
}

/** Waits until each handler's health counts `runners` runners taking runs. */
export async function runnersSeen(
  handlers: MechaHandler | MechaHandler[],
  runners: number,
): Promise<void> {
  for (const handler of Array.isArray(handlers) ? handlers : [handlers]) {
    for (;;) {
      const health = await handler.health();
      const up = runners === 0 || health.status !== "unavailable";
      if (health.capacity.runners === runners && up) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
