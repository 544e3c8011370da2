/**
 * Runs distributed over a real Redis, in this process: two API instances and runners driven by
 * the test (a fake runtime), so each step waits for an event, not for time. Every run is asked
 * about, fed and cancelled on the instance that did not start it.
 */
import type { RunResult } from "@mecha/protocol";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { get, lines, post, runBody, STREAM } from "../support/http";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";

const { missing, deploy } = redisDeployments();

describe.skipIf(missing)("runs over Redis", () => {
  it("runs a request on a runner and answers it; the other instance knows the run", async () => {
    const { a, b, addRunner, started } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const response = post(a, "/runs", runBody('print("hi")'));
    const program = await next;
    const pending = await get(b, `/runs/${program.job.id}`);
    expect(pending.status).toBe(202);
    expect(await pending.json()).toEqual({ id: program.job.id, status: "running" });
    program.sink.stdout("hi\n");
    program.end();
    const result = (await (await response).json()) as RunResult;
    expect(result).toMatchObject({ status: "succeeded", stdout: "hi\n", id: program.job.id });
    const there = await get(b, `/runs/${result.id}`);
    expect(there.status).toBe(200);
    expect(await there.json()).toEqual(result);
  });

  it("streams numbered events; stdin and cancel sent through the other instance reach the program", async () => {
    const { a, b, addRunner, started } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const stream = lines(await post(a, "/runs", runBody("input()"), STREAM));
    const program = await next;
    // The runner that took it says the limits it holds the run to.
    expect(await stream.next()).toEqual({
      type: "started",
      seq: 0,
      id: program.job.id,
      limits: program.job.limits,
    });
    program.sink.input("name? ");
    expect(await stream.next()).toMatchObject({ type: "input", seq: 1, prompt: "name? " });
    const fed = await post(b, `/runs/${program.job.id}/stdin`, { data: "Ada\n" });
    expect(fed.status).toBe(204);
    await until(() => program.stdin.length === 1);
    expect(program.stdin).toEqual([{ data: "Ada\n", eof: false }]);
    program.sink.stdout("hello Ada\n");
    expect(await stream.next()).toMatchObject({ type: "stdout", seq: 2, data: "hello Ada\n" });
    const cancelled = await post(b, `/runs/${program.job.id}/cancel`, {});
    expect(cancelled.status).toBe(202);
    expect(await stream.next()).toMatchObject({
      type: "exit",
      seq: 3,
      result: { status: "cancelled", stdout: "hello Ada\n" },
    });
    expect(program.cancelled).toBe(true);
    const late = await post(b, `/runs/${program.job.id}/stdin`, { data: "x" });
    expect(late.status).toBe(409);
  });

  it("resumes a stream dropped after two events on the other instance, each event exactly once", async () => {
    const { a, b, addRunner, started } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const first = lines(await post(a, "/runs", runBody(), STREAM));
    const program = await next;
    program.sink.stdout("one\n");
    const seen = [await first.next(), await first.next()];
    expect(seen.map((event) => event.seq)).toEqual([0, 1]);
    await first.cancel();
    // Output while nobody listens, then the client comes back elsewhere.
    program.sink.stdout("two\n");
    const resumed = lines(await get(b, `/runs/${program.job.id}/events?after=1`));
    program.sink.stderr("three\n");
    program.end();
    const rest = await resumed.rest();
    const all = [...seen, ...rest];
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index));
    const text = all
      .filter((event) => event.type === "stdout" || event.type === "stderr")
      .map((event) => event.data)
      .join("");
    expect(text).toBe("one\ntwo\nthree\n");
    expect(all.at(-1)).toMatchObject({ type: "exit", result: { status: "succeeded" } });
    // A reader that has the exit has nothing more to wait for; one past it never had it.
    const exitSeq = all.at(-1)!.seq as number;
    const done = await get(a, `/runs/${program.job.id}/events?after=${exitSeq}`);
    expect(done.status).toBe(200);
    expect(await done.text()).toBe("");
    const past = await get(b, `/runs/${program.job.id}/events?after=${exitSeq + 1}`);
    expect(past.status).toBe(400);
    expect(((await past.json()) as { detail: string }).detail).toContain(`seq 0 to ${exitSeq}`);
  });

  it("takes input sent before the run started, and a cancel before it starts ends it unrun", async () => {
    const { a, b, addRunner, started, redis, queue } = await deploy({
      runner: { maxConcurrent: 1 },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    // The runner's one slot is taken, so the next runs wait in the queue.
    const busyNext = started();
    const busy = post(a, "/runs", runBody());
    const blocker = await busyNext;
    // A client learns a run's id when it starts; these are read from Redis while they wait.
    const waitingFed = post(a, "/runs", runBody("print(input())"), STREAM);
    const [fedId] = await queued(redis.url, queue.prefix, 1);
    const waitingCancelled = post(a, "/runs", runBody("print(2)"), STREAM);
    const cancelledId = (await queued(redis.url, queue.prefix, 2)).find((id) => id !== fedId)!;
    expect((await post(b, `/runs/${fedId}/stdin`, { data: "early\n", eof: true })).status).toBe(
      204,
    );
    expect((await post(b, `/runs/${cancelledId}/cancel`, {})).status).toBe(202);
    const fedNext = started();
    blocker.end();
    expect(await (await busy).json()).toMatchObject({ status: "succeeded" });
    const fed = await fedNext;
    await until(() => fed.stdin.length > 0);
    expect(fed.stdin).toEqual([{ data: "early\n", eof: true }]);
    fed.end();
    const fedEvents = await lines(await waitingFed).rest();
    expect(fedEvents.at(-1)).toMatchObject({ type: "exit", result: { status: "succeeded" } });
    const cancelledEvents = await lines(await waitingCancelled).rest();
    expect(cancelledEvents).toEqual([
      {
        type: "started",
        seq: 0,
        id: cancelledId,
        limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
      },
      { type: "exit", seq: 1, result: expect.objectContaining({ status: "cancelled" }) },
    ]);
  });

  it("answers a repeated Idempotency-Key on either instance with the same run", async () => {
    const { a, b, addRunner, programs, started } = await deploy();
    await addRunner();
    await runnersSeen([a, b], 1);
    const headers = { "idempotency-key": "retry-1" };
    const next = started();
    const first = post(a, "/runs", runBody(), headers);
    const program = await next;
    program.end();
    const result = (await (await first).json()) as RunResult;
    const again = (await (await post(b, "/runs", runBody(), headers)).json()) as RunResult;
    expect(again).toEqual(result);
    expect(programs).toHaveLength(1);
    const reused = await post(b, "/runs", runBody("print(2)"), headers);
    expect(reused.status).toBe(400);
  });

  it("answers a repeated Idempotency-Key 503 busy, as its first request, when no runner takes the run in time", async () => {
    const { a, b, addRunner, started, programs, redis, queue } = await deploy({
      runner: { maxConcurrent: 1 },
      queue: { queueTimeoutMs: 1000 },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const held = post(a, "/runs", runBody());
    const blocker = await next;
    const headers = { "idempotency-key": "retry-2" };
    const first = post(a, "/runs", runBody(), headers);
    await queued(redis.url, queue.prefix, 1);
    const again = await post(b, "/runs", runBody(), headers);
    const answers = [await first, again];
    expect(answers.map((answer) => answer.status)).toEqual([503, 503]);
    for (const answer of answers) {
      expect(await answer.json()).toMatchObject({ code: "busy", detail: /nothing ran/ });
    }
    blocker.end();
    await held;
    // Nothing ran: the same key is free to run it now.
    const later = started();
    const retried = post(b, "/runs", runBody(), headers);
    (await later).end();
    expect(await (await retried).json()).toMatchObject({ status: "succeeded" });
    expect(programs).toHaveLength(2);
  });

  it("holds a run to its runner's maxima where its API instance allows more, and says so", async () => {
    const { a, b, addRunner, started } = await deploy({
      api: { maxLimits: { timeoutMs: 120_000 } },
    });
    await addRunner({ maxLimits: { timeoutMs: 30_000 } });
    await runnersSeen([a, b], 1);
    const next = started();
    const asked = runBody("x", { limits: { timeoutMs: 90_000 } });
    const stream = lines(await post(a, "/runs", asked, STREAM));
    const program = await next;
    const held = { timeoutMs: 30_000, memoryMb: 256, outputBytes: 1 << 20 };
    expect(program.job.limits).toEqual(held);
    expect(await stream.next()).toMatchObject({ type: "started", limits: held });
    program.end();
    expect((await stream.rest()).at(-1)).toMatchObject({ type: "exit", result: { limits: held } });
    const there = (await (await get(b, `/runs/${program.job.id}`)).json()) as RunResult;
    expect(there.limits).toEqual(held);
  });

  it("keeps runs to their principal on every instance", async () => {
    const authorize = (request: Request) => request.headers.get("x-user") ?? false;
    const { a, b, addRunner, started } = await deploy({ api: { authorize } });
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const response = post(a, "/runs", runBody(), { "x-user": "alice" });
    const program = await next;
    const id = program.job.id;
    expect((await get(b, `/runs/${id}`, { "x-user": "bob" })).status).toBe(404);
    expect((await post(b, `/runs/${id}/cancel`, {}, { "x-user": "bob" })).status).toBe(404);
    expect((await get(b, `/runs/${id}/events`, { "x-user": "bob" })).status).toBe(404);
    program.end();
    await response;
    expect((await get(b, `/runs/${id}`, { "x-user": "alice" })).status).toBe(200);
  });

  it("spreads runs over runners, counts them in /metrics and /health", async () => {
    const { a, b, addRunner, programs } = await deploy({ runner: { maxConcurrent: 2 } });
    await addRunner();
    await addRunner();
    await runnersSeen([a, b], 2);
    const ending = setInterval(() => {
      for (const program of programs) program.end();
    }, 5);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post(i % 2 ? a : b, "/runs", runBody(`print(${i})`)).then((r) => r.json()),
      ),
    );
    clearInterval(ending);
    expect(results.filter((result) => result.status !== "succeeded")).toEqual([]);
    expect(new Set(results.map((result) => result.id)).size).toBe(12);
    const metrics = await (await get(a, "/metrics")).text();
    expect(metrics).toMatch(/mecha_runs_total\{status="succeeded"\} 6/);
    expect(metrics).toMatch(/mecha_runners 2/);
    expect(metrics).toMatch(/mecha_runner_max_concurrent\{runner="[^"]+"\} 2/);
    const health = await (await get(b, "/health")).json();
    expect(health).toMatchObject({ status: "ok", capacity: { runners: 2, maxConcurrent: 4 } });
    expect(health.features).toContain("redis");
  });

  it("reads a large ended result out of Redis once for its many readers on an instance", async () => {
    const maxLimits = { outputBytes: 8 << 20 };
    const { a, b, addRunner, started, redis } = await deploy({
      api: { maxLimits },
      runner: { maxLimits },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    const next = started();
    const answer = post(a, "/runs", runBody("big", { limits: { outputBytes: 4 << 20 } }));
    const big = "x".repeat(2 << 20);
    (await next).end({ stdout: big });
    const { id } = (await (await answer).json()) as RunResult;
    const client = new Redis(redis.url);
    const sent = async () =>
      Number(/total_net_output_bytes:(\d+)/.exec(await client.info("stats"))![1]);
    const before = await sent();
    const read = async () => (await (await get(b, `/runs/${id}`)).json()) as RunResult;
    const results = await Promise.all(Array.from({ length: 10 }, read));
    results.push(await read(), await read());
    const after = await sent();
    client.disconnect();
    expect(results.filter((result) => result.stdout !== big)).toEqual([]);
    // Twelve readers, at once and one after another: the result left Redis once.
    expect(after - before).toBeLessThan(2 * big.length);
  });
});

/** Waits for a condition the test cannot await directly (a runner's write, say). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** The ids of the runs waiting for a runner, once there are `count` of them. */
async function queued(url: string, prefix: string, count: number): Promise<string[]> {
  const redis = new Redis(url);
  try {
    for (;;) {
      const keys = await redis.keys(`${prefix}:run:{*}`);
      const ids: string[] = [];
      for (const key of keys) {
        if ((await redis.hget(key, "state")) === "queued") ids.push(/\{(.*)\}$/.exec(key)![1]!);
      }
      if (ids.length >= count) return ids;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    redis.disconnect();
  }
}
