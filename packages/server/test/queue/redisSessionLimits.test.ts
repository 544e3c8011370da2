/**
 * How sessions over a real Redis end and what bounds them: each runner's maximum (503 busy past
 * every runner's), idle expiry on the runner that leaves nothing in Redis, an interpreter that
 * dies (410), a runner that drains, and deployments without runners or without sessions.
 */
import type { HealthResponse } from "@mecha/protocol";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { MechaHandler } from "../../src/createHandler";
import { problemOf, SessionApi } from "../sessions/api";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";

const { missing, deploy } = redisDeployments();
/** A runner's idle timeout, shorter than the API instances' (10 min). */
const IDLE_MS = 1500;

async function health(handler: MechaHandler): Promise<HealthResponse> {
  return (await handler(new Request("http://localhost/health"))).json();
}

/** Waits until `check` holds (what a heartbeat or a timer brings, say). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Runs `read` on a Redis client of its own. */
async function inRedis<T>(url: string, read: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url);
  try {
    return await read(redis);
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(missing)("sessions over Redis, at their limits and their end", () => {
  it("opens each session on a runner with room; past every runner's maximum, 503 busy until one closes", async () => {
    const { a, b, addRunner, redis, queue } = await deploy({
      sessions: true,
      runner: { maxSessions: 1 },
    });
    await addRunner();
    await addRunner();
    await runnersSeen([a, b], 2);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const first = await onA.open();
    const second = await onB.open();
    const holders = await inRedis(redis.url, (client) =>
      Promise.all(
        [first, second].map((id) => client.hget(`${queue.prefix}:session:{${id}}`, "runner")),
      ),
    );
    expect(new Set(holders).size).toBe(2);
    for (const api of [onA, onB]) {
      const refused = await api.create();
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      const problem = await problemOf(refused);
      expect(problem.code).toBe("busy");
      expect(problem.detail).toMatch(/All 2 sessions of 2 runner\(s\) are open/);
    }
    await until(async () => (await health(a)).capacity.sessions === 2);
    expect((await health(a)).capacity).toMatchObject({ sessions: 2, maxSessions: 2 });
    expect((await onB.delete(first)).status).toBe(204);
    const third = await onA.open();
    expect(
      await inRedis(redis.url, (client) =>
        client.hget(`${queue.prefix}:session:{${third}}`, "runner"),
      ),
    ).toBe(holders[0]);
  });

  it("holds a session's interpreter to its runner's maxima where its API instance allows more", async () => {
    const { a, b, addRunner, opened } = await deploy({
      sessions: true,
      api: { maxLimits: { memoryMb: 2048, timeoutMs: 120_000 } },
      runner: { maxSessions: 1 },
    });
    await addRunner({ maxLimits: { memoryMb: 512, timeoutMs: 30_000 } });
    await runnersSeen([a, b], 1);
    const opening = opened();
    await new SessionApi(a).open({ limits: { memoryMb: 1536, timeoutMs: 90_000 } });
    const session = await opening;
    expect(session.spec.limits).toMatchObject({ memoryMb: 512, timeoutMs: 30_000 });
  });

  it("ends a session left idle on its runner, leaving nothing in Redis; a run moves its expiry on", async () => {
    const { a, b, addRunner, redis, queue, opened, started } = await deploy({
      sessions: true,
      runner: { sessionIdleTimeoutMs: IDLE_MS },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const opening = opened();
    const before = Date.now();
    const created = (await (await onA.create()).json()) as { id: string; expiresAt: string };
    const session = await opening;
    // The runner's timeout is shorter than the instance's: the runner's holds.
    expect(Date.parse(created.expiresAt)).toBeLessThanOrEqual(Date.now() + IDLE_MS);
    expect(Date.parse(created.expiresAt)).toBeGreaterThanOrEqual(before + IDLE_MS);
    const next = started();
    const run = onA.run(created.id, "x = 1");
    (await next).end();
    await run;
    const moved = Date.parse((await onA.describe(created.id)).expiresAt);
    expect(moved).toBeGreaterThan(Date.parse(created.expiresAt));
    await until(() => session.closed);
    const gone = await new SessionApi(b).post(created.id, { code: "x" });
    expect(gone.status).toBe(404);
    const left = await inRedis(redis.url, async (client) => [
      ...(await client.keys(`${queue.prefix}:session:*`)),
      ...(await client.keys(`${queue.prefix}:runner:*:sessions`)),
    ]);
    expect(left).toEqual([]);
  });

  it("answers 410 session_lost once a session's interpreter died, during a run or between runs", async () => {
    const { a, b, addRunner, opened, started } = await deploy({ sessions: true });
    await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const opening = opened();
    const during = await onA.open();
    const dying = await opening;
    const next = started();
    const run = onA.run(during, "x = [0] * 10**10");
    await next;
    dying.die();
    expect(await run).toMatchObject({ status: "failed", session: { id: during, state: "lost" } });
    const after = await onB.post(during, { code: "print(1)" });
    expect(after.status).toBe(410);
    expect((await problemOf(after)).code).toBe("session_lost");
    expect((await onB.describe(during)).state).toBe("lost");
    expect((await problemOf(await onB.file(during, "x.txt"))).code).toBe("session_lost");

    const idle = opened();
    const between = await onB.open();
    (await idle).die();
    await until(async () => (await onA.describe(between)).state === "lost");
    const refused = await onA.post(between, { code: "print(1)" });
    expect((await problemOf(refused)).detail).toMatch(/interpreter was killed/);
    // Lost sessions hold no place: both are free again.
    await until(async () => (await health(a)).capacity.sessions === 0);
  });

  it("ends the sessions of a runner that drains (410), while another runner's go on", async () => {
    const { a, b, addRunner, started } = await deploy({
      sessions: true,
      runner: { maxSessions: 1 },
    });
    const leaving = await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const held = await onA.open();
    await addRunner();
    await runnersSeen([a, b], 2);
    // The first runner is full: this one opens on the other.
    const staying = await onA.open();
    await leaving.close();
    const refused = await onB.post(held, { code: "print(1)" });
    expect(refused.status).toBe(410);
    const problem = await problemOf(refused);
    expect(problem.code).toBe("session_lost");
    expect(problem.detail).toMatch(/was shut down/);
    const next = started();
    const run = onB.run(staying, "print(2)");
    (await next).end();
    expect(await run).toMatchObject({
      status: "succeeded",
      session: { id: staying, state: "kept" },
    });
  });

  it("is 503 without a runner, and 404 when no runner holds sessions", async () => {
    const { a, b, addRunner } = await deploy();
    const onA = new SessionApi(a);
    const none = await onA.create();
    expect(none.status).toBe(503);
    expect((await problemOf(none)).code).toBe("unavailable");
    await addRunner();
    await runnersSeen([a, b], 1);
    const off = await onA.create();
    expect(off.status).toBe(404);
    expect((await problemOf(off)).detail).toMatch(/off on every runner/);
    expect((await health(a)).features).not.toContain("sessions");
  });
});
