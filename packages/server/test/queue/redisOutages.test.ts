/**
 * Redis out of reach at the worst moments, on a real Redis in this process: at start (an API
 * instance and a runner join once it is back, without being made again), and mid-run (a runner
 * stops a run Redis forgot, even one whose program writes nothing more).
 */
import { describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { createRunner } from "../../src/createRunner";
import { fakeRuntime } from "../support/fakeRuntime";
import { lines, post, runBody, STREAM } from "../support/http";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";
import { startRedis } from "../support/redisServer";

const { missing, deploy } = redisDeployments();

describe.skipIf(missing)("runs over Redis, when Redis goes away", () => {
  it("joins once Redis is back when it was out of reach at start", async () => {
    const redis = await startRedis();
    await redis.kill();
    const queue = { redis: redis.url, heartbeatMs: 200, lostAfterMs: 2000 };
    const api = createHandler({ logger: false, queue: { ...queue, role: "api" } });
    const fake = fakeRuntime();
    const runner = createRunner({ logger: false, runtime: fake.runtime, queue });
    try {
      const refused = await Promise.all([
        api.ready().then(
          () => null,
          (error: Error) => error.message,
        ),
        runner.start().then(
          () => null,
          (error: Error) => error.message,
        ),
      ]);
      expect(refused).toEqual([
        expect.stringMatching(/cannot reach Redis/),
        expect.stringMatching(/cannot reach Redis/),
      ]);
      await redis.restart();
      await Promise.all([api.ready(), runner.start()]);
      await runnersSeen(api, 1);
      const next = fake.started();
      const answer = post(api, "/runs", runBody());
      (await next).end({ stdout: "back\n" });
      expect(await (await answer).json()).toMatchObject({ status: "succeeded", stdout: "back\n" });
    } finally {
      await runner.close();
      await api.close();
      await redis.stop();
    }
  }, 60_000);

  it("stops a run whose record a Redis restart lost, though its program writes nothing", async () => {
    const { a, b, addRunner, started, redis } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const stream = lines(await post(a, "/runs", runBody("input()", { interactive: true }), STREAM));
    const program = await next;
    expect(await stream.next()).toMatchObject({ type: "started" });
    await redis.kill();
    await redis.restart();
    // Its program waits for input that can never come: the runner frees its slot at once.
    expect(await program.ended).toMatchObject({ status: "cancelled" });
    expect((await stream.rest()).at(-1)).toMatchObject({
      type: "exit",
      result: { status: "lost" },
    });
  });
});
