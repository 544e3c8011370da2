/**
 * Sessions over a real Redis, in this process: two API instances and runners whose interpreters
 * the test drives (a fake runtime), so each step waits for an event, not for time. A session
 * opened on one instance is run in, read, described and deleted through the other.
 */
import type { HealthResponse, RunResult } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import type { MechaHandler } from "../../src/createHandler";
import { problemOf, SessionApi } from "../sessions/api";
import { FAKE_FILE_LIMIT } from "../support/fakeRuntime";
import { redisDeployments, runnersSeen } from "../support/redisDeployment";

const { missing, deploy } = redisDeployments();

async function health(handler: MechaHandler): Promise<HealthResponse> {
  return (await handler(new Request("http://localhost/health"))).json();
}

/** Waits until `check` holds (what a heartbeat brings, say). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe.skipIf(missing)("sessions over Redis", () => {
  it("opens a session on one instance and runs in it, reads and deletes it through the other", async () => {
    const { a, b, addRunner, started, opened } = await deploy({
      sessions: true,
      runner: { maxSessions: 3 },
    });
    await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const opening = opened();
    const created = await onA.create({ files: [{ path: "data.csv", content: "x,y\n1,2\n" }] });
    expect(created.status).toBe(201);
    const { id, expiresAt } = (await created.json()) as { id: string; expiresAt: string };
    expect(created.headers.get("location")).toBe(`/sessions/${id}`);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    const session = await opening;
    expect(session.spec).toMatchObject({ id, files: [{ path: "data.csv" }] });
    for (const handler of [a, b]) {
      // Counted from the runners' heartbeats.
      await until(async () => (await health(handler)).capacity.sessions === 1);
      const body = await health(handler);
      expect(body.features).toContain("sessions");
      expect(body.capacity).toMatchObject({ sessions: 1, maxSessions: 3 });
      const metrics = await (await handler(new Request("http://localhost/metrics"))).text();
      expect(metrics).toMatch(/^mecha_sessions_open 1$/m);
      expect(metrics).toMatch(/^mecha_runner_sessions\{runner="[^"]+"\} 1$/m);
    }

    // A run through A, watched through B while it goes on.
    let next = started();
    const first = onA.run(id, "x = 41");
    const program = await next;
    expect(program.session).toBe(session);
    expect(program.job.sessionId).toBe(id);
    expect(await onB.describe(id)).toMatchObject({ state: "running", runId: program.job.id });
    program.sink.stdout("41\n");
    program.end();
    expect(await first).toMatchObject({
      status: "succeeded",
      stdout: "41\n",
      session: { id, state: "kept" },
    });

    // The next through B reaches the same interpreter.
    next = started();
    const second = onB.run(id, "x + 1");
    const again = await next;
    expect(again.session).toBe(session);
    again.end();
    expect((await second).session).toEqual({ id, state: "kept" });
    expect(await onA.describe(id)).toMatchObject({ id, state: "idle" });

    // Its files, through B, with the problems the in-process server gives.
    const file = await onB.file(id, "data.csv");
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await file.text()).toBe("x,y\n1,2\n");
    expect((await onB.file(id, "nothing.txt")).status).toBe(404);
    session.files.set("big.txt", "x".repeat(FAKE_FILE_LIMIT + 1));
    expect((await problemOf(await onB.file(id, "big.txt"))).code).toBe("payload_too_large");
    expect((await onB.file(id, "..%2Fetc%2Fpasswd")).status).toBe(400);

    expect((await onB.delete(id)).status).toBe(204);
    expect(session.closed).toBe(true);
    expect((await onA.get(`/sessions/${id}`)).status).toBe(404);
    const late = await onA.post(id, { code: "x" });
    expect(late.status).toBe(404);
    expect((await problemOf(late)).code).toBe("not_found");
    await until(async () => (await health(a)).capacity.sessions === 0);
  });

  it("takes stdin and a cancel for a session's run through the instance that did not start it", async () => {
    const { a, b, addRunner, started } = await deploy({ sessions: true });
    await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const id = await onA.open();
    const next = started();
    const stream = await onA.stream(id, "name = input('name? ')");
    const program = await next;
    expect(stream.id).toBe(program.job.id);
    program.sink.input("name? ");
    await stream.untilInput();
    const fed = await onB.request("POST", `/runs/${stream.id}/stdin`, { data: "Ada\n" });
    expect(fed.status).toBe(204);
    await until(() => program.stdin.length === 1);
    expect(program.stdin).toEqual([{ data: "Ada\n", eof: false }]);
    expect((await onB.request("POST", `/runs/${stream.id}/cancel`)).status).toBe(202);
    const result = await stream.finished();
    expect(result).toMatchObject({ status: "cancelled", session: { id, state: "kept" } });
    expect(program.cancelled).toBe(true);
    const after = await onB.get(`/runs/${stream.id}`);
    expect(await after.json()).toEqual(result);
    // The session goes on.
    const more = started();
    const run = onB.run(id, "print(name)");
    (await more).end();
    expect((await run).status).toBe("succeeded");
  });

  it("runs one program at a time per session across instances (409), and answers a repeated Idempotency-Key with its run", async () => {
    const { a, b, addRunner, started, programs } = await deploy({ sessions: true });
    await addRunner();
    await runnersSeen([a, b], 1);
    const onA = new SessionApi(a);
    const onB = new SessionApi(b);
    const id = await onA.open();
    let next = started();
    const running = onA.run(id, "import time; time.sleep(60)");
    const program = await next;
    const refused = await onB.post(id, { code: "print(1)" });
    expect(refused.status).toBe(409);
    const problem = await problemOf(refused);
    expect(problem.code).toBe("session_busy");
    expect(problem.detail).toContain(program.job.id);
    program.end();
    await running;

    // Two at once, one through each instance: one runs, the other is refused.
    next = started();
    const both = [onA.post(id, { code: "1" }), onB.post(id, { code: "2" })];
    const one = await next;
    const refusedOne = await Promise.race(both);
    expect(refusedOne.status).toBe(409);
    one.end();
    const statuses = (await Promise.all(both)).map((response) => response.status).sort();
    expect(statuses).toEqual([200, 409]);

    const key = { "idempotency-key": "cell-7" };
    next = started();
    const keyed = a(sessionRun(id, "print(7)", key));
    (await next).end();
    const result = (await (await keyed).json()) as RunResult;
    const count = programs.length;
    const repeated = (await (await b(sessionRun(id, "print(7)", key))).json()) as RunResult;
    expect(repeated).toEqual(result);
    expect(programs).toHaveLength(count);
    expect((await b(sessionRun(id, "print(8)", key))).status).toBe(400);
  });

  it("keeps a session to its principal on every instance", async () => {
    const authorize = (request: Request) => request.headers.get("x-user") ?? false;
    const { a, b, addRunner, started } = await deploy({ sessions: true, api: { authorize } });
    await addRunner();
    await runnersSeen([a, b], 1);
    const alice = new SessionApi(a, { "x-user": "alice" });
    const bob = new SessionApi(b, { "x-user": "bob" });
    const id = await alice.open({ files: [{ path: "secret.txt", content: "alice's" }] });
    const next = started();
    const run = alice.stream(id, "print(1)");
    const program = await next;
    const stream = await run;
    for (const response of [
      bob.get(`/sessions/${id}`),
      bob.post(id, { code: "print(2)" }),
      bob.file(id, "secret.txt"),
      bob.delete(id),
      bob.get(`/runs/${stream.id}`),
      bob.request("POST", `/runs/${stream.id}/cancel`),
    ]) {
      const answered = await response;
      expect(answered.status).toBe(404);
      expect((await problemOf(answered)).code).toBe("not_found");
    }
    program.end();
    expect((await stream.finished()).status).toBe("succeeded");
    // Its owner, on the other instance, still has it all.
    const aliceOnB = new SessionApi(b, { "x-user": "alice" });
    expect(await (await aliceOnB.file(id, "secret.txt")).text()).toBe("alice's");
    expect((await aliceOnB.describe(id)).state).toBe("idle");
  });
});

/** `POST /sessions/{id}/runs` with extra headers, as a request. */
function sessionRun(id: string, code: string, headers: Record<string, string>): Request {
  return new Request(`http://localhost/sessions/${id}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ code }),
  });
}
