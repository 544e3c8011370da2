/**
 * How runs over Redis fail, on a real Redis in this process: bad input stops at the API, a job a
 * runner cannot read fails its run (not the runner), trimmed events are 410, no runner and a
 * full deployment are 503 at once, Redis going away is 503 and coming back is recovery, and a
 * runner drains on close.
 */
import { type AddressInfo, createServer } from "node:net";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { fakeRuntime } from "../support/fakeRuntime";
import { get, lines, post, runBody, STREAM } from "../support/http";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";

const { missing, deploy } = redisDeployments();

describe.skipIf(missing)("runs over Redis, when things go wrong", () => {
  it("answers an invalid body 400 without touching the queue", async () => {
    const { a, addRunner, redis, queue } = await deploy();
    await addRunner();
    await runnersSeen(a, 1);
    const response = await post(a, "/runs", { language: "python", code: 42 });
    expect(response.status).toBe(400);
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const bull = new Queue("runs", { connection: client, prefix: queue.prefix });
    const counts = await bull.getJobCounts();
    const runs = await client.keys(`${queue.prefix}:run:*`);
    await bull.close();
    client.disconnect();
    expect(Object.values(counts).every((count) => count === 0)).toBe(true);
    expect(runs).toEqual([]);
  });

  it("fails a run whose job the runner cannot read, saying why, and goes on serving", async () => {
    const { a, b, addRunner, redis, queue, started } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    // A job as a newer API instance would enqueue it.
    const client = new Redis(redis.url, { maxRetriesPerRequest: null });
    const id = "run_fromthefuture0000";
    await client.hset(`${queue.prefix}:run:{${id}}`, {
      state: "queued",
      principal: "",
      stdinClosed: "1",
      stdinBytes: 0,
      held: 0,
      limits: JSON.stringify({ timeoutMs: 1000, memoryMb: 64, outputBytes: 1024 }),
      deadline: Date.now() + 60_000,
      last: -1,
    });
    const bull = new Queue("runs", { connection: client, prefix: queue.prefix });
    await bull.add("run", { format: 99, job: { id, program: "print(1)" } }, { jobId: id });
    let answer = await get(b, `/runs/${id}`);
    while (answer.status === 202) {
      await tick();
      answer = await get(b, `/runs/${id}`);
    }
    await bull.close();
    client.disconnect();
    expect(answer.status).toBe(200);
    const result = await answer.json();
    expect(result).toMatchObject({ status: "failed", error: { type: "JobUnreadable" } });
    expect(result.error.message).toMatch(/format 99.*different versions/);
    const next = started();
    const fine = post(a, "/runs", runBody());
    (await next).end();
    expect(await (await fine).json()).toMatchObject({ status: "succeeded" });
  });

  it("answers 410 events_expired for an `after` older than the events kept", async () => {
    const { a, b, addRunner, started } = await deploy({ queue: { maxEvents: 3 } });
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const stream = lines(await post(a, "/runs", runBody(), STREAM));
    const program = await next;
    await stream.next();
    for (const text of ["a", "b", "c", "d"]) {
      program.sink.stdout(text);
      await stream.next();
    }
    program.end();
    await stream.rest();
    const id = program.job.id;
    const expired = await get(b, `/runs/${id}/events?after=0`);
    expect(expired.status).toBe(410);
    expect(await expired.json()).toMatchObject({ code: "events_expired" });
    const kept = await lines(await get(b, `/runs/${id}/events?after=3`)).rest();
    expect(kept.map((event) => event.seq)).toEqual([4, 5]);
  });

  it("is unavailable at once with no runner, and busy when no runner takes a run in time", async () => {
    const { a, b, addRunner, started, programs } = await deploy({
      // Long enough for the runner to take each run it has room for on a loaded machine.
      queue: { queueTimeoutMs: 2_000 },
      runner: { maxConcurrent: 1 },
    });
    const none = await post(a, "/runs", runBody());
    expect(none.status).toBe(503);
    expect(await none.json()).toMatchObject({ code: "unavailable" });
    expect((await get(a, "/health")).status).toBe(503);
    expect((await get(a, "/runtimes")).status).toBe(503);
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const blocking = post(a, "/runs", runBody());
    const blocker = await next;
    const refused = await post(b, "/runs", runBody("print('never')"));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "busy" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    blocker.end();
    await blocking;
    const after = started();
    const later = post(b, "/runs", runBody("print('later')"));
    (await after).end();
    await later;
    // The refused run never ran: the runner skipped it and took the next one.
    expect(programs.map((program) => program.job.code)).toEqual(["print(1)", "print('later')"]);
  });

  it("answers busy at once when every runner slot is taken and the queue is full", async () => {
    const { a, b, addRunner, started, programs } = await deploy({
      api: { maxQueued: 1 },
      runner: { maxConcurrent: 1 },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const running = post(a, "/runs", runBody());
    const blocker = await next;
    // Both instances know the one slot is taken (from the runner's heartbeat).
    for (const handler of [a, b]) {
      while ((await handler.health()).capacity.running < 1) await tick();
    }
    const waiting = post(a, "/runs", runBody("print('waits')"));
    while ((await a.health()).capacity.queued < 1) await tick();
    const refused = await post(a, "/runs", runBody("print('refused')"));
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "busy" });
    expect(refused.headers.get("retry-after")).toBe("1");
    const after = started();
    blocker.end();
    (await after).end();
    await Promise.all([running, waiting]);
    expect(programs.map((program) => program.job.code)).toEqual(["print(1)", "print('waits')"]);
  });

  it("connects to nothing until its first request", async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as AddressInfo;
    const handler = createHandler({
      logger: false,
      queue: { redis: `redis://127.0.0.1:${port}`, role: "both" },
      runtime: fakeRuntime().runtime,
    });
    await tick();
    expect(connections).toBe(0);
    const answer = await get(handler, "/health");
    expect(answer.status).toBe(503);
    expect(connections).toBeGreaterThan(0);
    await handler.close();
    server.close();
  });

  it("shares the rate limit across API instances", async () => {
    const rateLimit = { limit: 3, windowMs: 60_000 };
    const { a, b, addRunner, programs } = await deploy({ api: { rateLimit } });
    await addRunner();
    await runnersSeen([a, b], 1);
    const ending = setInterval(() => {
      for (const program of programs) program.end();
    }, 5);
    const answers = [];
    for (const handler of [a, b, a, b]) answers.push(await post(handler, "/runs", runBody()));
    clearInterval(ending);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429]);
    expect(Number(answers[3]!.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers 503 while Redis is gone and serves again once it is back", async () => {
    const { a, addRunner, redis, programs } = await deploy();
    await addRunner();
    await runnersSeen(a, 1);
    await redis.kill();
    const killedAt = performance.now();
    let health = await get(a, "/health");
    while (health.status === 200) {
      await tick();
      health = await get(a, "/health");
    }
    expect(performance.now() - killedAt).toBeLessThan(5000);
    expect(await health.json()).toMatchObject({ status: "unavailable" });
    const refused = await post(a, "/runs", runBody());
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: "unavailable" });
    await redis.restart();
    const ending = setInterval(() => {
      for (const program of programs) program.end();
    }, 5);
    const restartedAt = performance.now();
    let answer = await post(a, "/runs", runBody());
    while (answer.status === 503) {
      await tick();
      answer = await post(a, "/runs", runBody());
    }
    expect(performance.now() - restartedAt).toBeLessThan(20_000);
    clearInterval(ending);
    expect(await answer.json()).toMatchObject({ status: "succeeded" });
  });

  it("drains a closing runner: it finishes its run and takes no new ones", async () => {
    const { a, addRunner } = await deploy();
    const first = fakeRuntime();
    const second = fakeRuntime();
    const draining = await addRunner({ runtime: first.runtime });
    await runnersSeen(a, 1);
    const next = first.started();
    const held = post(a, "/runs", runBody());
    const program = await next;
    const closed = draining.close();
    await addRunner({ runtime: second.runtime });
    await runnersSeen(a, 1);
    const elsewhere = second.started();
    const newer = post(a, "/runs", runBody("print('new')"));
    (await elsewhere).end();
    expect(await (await newer).json()).toMatchObject({ status: "succeeded" });
    program.end();
    await closed;
    expect(await (await held).json()).toMatchObject({ status: "succeeded" });
    expect(first.programs).toHaveLength(1);
  });
});

/** Lets timers and I/O run between two polls of a handler in this process. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
