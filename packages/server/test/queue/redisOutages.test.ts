/**
 * Redis out of reach at the worst moments, on a real Redis in this process: at start (an API
 * instance and a runner join once it is back, without being made again), and mid-run (a runner
 * stops a run Redis forgot, or declared lost while the runner was cut off, even one whose program
 * writes nothing more).
 */
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { createRunner } from "../../src/createRunner";
import { fakeRuntime } from "../support/fakeRuntime";
import { lines, post, runBody, STREAM } from "../support/http";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";
import { type RedisServer, startRedis } from "../support/redisServer";

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

  it("stops a run declared lost while its runner was cut off from Redis, once it is back", async () => {
    const { a, runtime, started, redis, queue } = await deploy();
    const link = await cuttable(redis);
    const runner = createRunner({
      logger: false,
      runtime,
      queue: { ...queue, redis: link.url },
    });
    try {
      await runner.start();
      await runnersSeen(a, 1);
      const next = started();
      const stream = lines(
        await post(a, "/runs", runBody("input()", { interactive: true }), STREAM),
      );
      const program = await next;
      expect(await stream.next()).toMatchObject({ type: "started" });
      link.cut();
      expect((await stream.rest()).at(-1)).toMatchObject({
        type: "exit",
        result: { status: "lost", error: { type: "RunnerLost" } },
      });
      link.mend();
      expect(await program.ended).toMatchObject({ status: "cancelled" });
    } finally {
      link.mend();
      await runner.close();
      link.close();
    }
  });
});

/** A way to `redis` that can be cut (every connection dropped, new ones refused) and mended. */
async function cuttable(redis: RedisServer) {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(redis.port, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    mend() {
      open = true;
    },
    close() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
