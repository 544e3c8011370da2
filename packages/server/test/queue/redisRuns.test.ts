/**
 * Runs distributed over a real Redis, in this process: two API instances and runners driven by
 * the test (a fake runtime), so each step waits for an event, not for time. Every run is asked
 * about on the instance that did not start it.
 */
import type { RunResult } from "@mecha/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { createRunner, type MechaRunner } from "../../src/createRunner";
import type { HandlerOptions } from "../../src/options";
import type { QueueOptions } from "../../src/queue/queueOptions";
import { fakeRuntime } from "../support/fakeRuntime";
import { get, lines, post, runBody, STREAM } from "../support/http";
import { type RedisServer, redisMissing, startRedis } from "../support/redisServer";

const missing = redisMissing();
if (missing) console.warn(`skipped: ${missing}`);

let redis: RedisServer;
beforeAll(async () => {
  if (!missing) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

let deployments = 0;

/** Two API instances and a runner (a fake runtime) on a prefix of their own. */
async function deploy(
  options: { api?: HandlerOptions; runner?: HandlerOptions; queue?: Partial<QueueOptions> } = {},
) {
  const queue = { redis: redis.url, prefix: `t${++deployments}`, ...options.queue };
  const api = (): MechaHandler => {
    const handler = createHandler({ logger: false, ...options.api, queue: { ...queue, role: "api" } });
    closers.push(() => handler.close());
    return handler;
  };
  const fake = fakeRuntime();
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
  return { a, b, queue, addRunner, ...fake };
}

/** Waits until `handler`'s health says `runners` runners are taking runs. */
async function runnersSeen(handler: MechaHandler, runners: number): Promise<void> {
  for (;;) {
    const health = await handler.health();
    if (health.capacity.runners === runners && health.status !== "unavailable") return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(missing)("runs over Redis", () => {
  it("runs a request on a runner and answers it; the other instance knows the run", async () => {
    const { a, b, addRunner, started } = await deploy();
    await addRunner();
    await runnersSeen(a, 1);
    const next = started();
    const response = post(a, "/runs", runBody('print("hi")'));
    const program = await next;
    program.sink.stdout("hi\n");
    program.end();
    const result = (await (await response).json()) as RunResult;
    expect(result).toMatchObject({ status: "succeeded", stdout: "hi\n" });
    const there = await get(b, `/runs/${result.id}`);
    expect(there.status).toBe(200);
    expect(await there.json()).toEqual(result);
  });
});
