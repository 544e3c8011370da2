/**
 * Who may use a session and how many there are: two sessions see nothing of each other, another
 * principal gets 404 for everything of one, one run at a time (409), a maximum (503 with
 * Retry-After) that DELETE makes room under, and DELETE itself.
 */
import type { HealthResponse, RunResult } from "@mecha/protocol";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "./api";

const MAX_SESSIONS = 3;

export function accessCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`who may use a session (${startup})`, { timeout: 30_000 }, () => {
    const handler = createHandler({
      sandbox: "required",
      startup,
      logger: false,
      maxSessions: MAX_SESSIONS,
      authorize: (request) => request.headers.get("x-user") ?? "anonymous",
    });
    const alice = new SessionApi(handler, { "x-user": "alice" });
    const bob = alice.as({ "x-user": "bob" });
    const nobody = alice.as({});
    afterAll(() => handler.close());

    async function health(): Promise<HealthResponse> {
      const response = await alice.get("/health");
      expect(response.status).toBe(200);
      return (await response.json()) as HealthResponse;
    }

    async function expectNotFound(response: Promise<Response>): Promise<void> {
      const answered = await response;
      expect(answered.status).toBe(404);
      expect((await problemOf(answered)).code).toBe("not_found");
    }

    it("keeps two sessions' variables, files and processes apart", async () => {
      const first = await alice.open();
      const second = await alice.open();
      expect(second).not.toBe(first);
      await alice.ok(
        first,
        [
          "import os",
          "secret = 'first'",
          "open('mine.txt', 'w').write('first')",
          "open('/tmp/scratch.txt', 'w').write('first')",
          "os.environ['MINE'] = 'first'",
        ].join("\n"),
      );
      const other = await alice.ok(
        second,
        [
          "import os",
          "print('secret' in globals(), os.path.exists('mine.txt'), os.path.exists('/tmp/scratch.txt'))",
          "print(os.environ.get('MINE'), sorted(os.listdir('.')))",
        ].join("\n"),
      );
      expect(other.stdout).toBe("False False False\nNone []\n");
      expect((await alice.file(second, "mine.txt")).status).toBe(404);
      expect((await alice.file(first, "mine.txt")).status).toBe(200);
      // Each session's processes are the only ones it sees.
      const pids = "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))";
      const [a, b] = [await alice.ok(first, pids), await alice.ok(second, pids)];
      expect(JSON.parse(a.stdout).length).toBeLessThanOrEqual(3);
      expect(JSON.parse(b.stdout).length).toBeLessThanOrEqual(3);
      expect((await alice.ok(first, "secret")).displays).toEqual([
        { data: { "text/plain": "'first'" } },
      ]);
      await Promise.all([alice.delete(first), alice.delete(second)]);
    });

    it("answers another principal 404 for the session, its runs, its files and DELETE", async () => {
      const id = await alice.open();
      await alice.ok(id, "open('private.txt', 'w').write('alice only')\nmine = 1");
      const stream = await alice.stream(id, "answer = input('? ')\nprint('got', answer)");
      await stream.untilInput();
      for (const other of [bob, nobody]) {
        await expectNotFound(other.get(`/sessions/${id}`));
        await expectNotFound(other.post(id, { code: "print(mine)" }));
        await expectNotFound(other.file(id, "private.txt"));
        await expectNotFound(other.delete(id));
        await expectNotFound(other.get(`/runs/${stream.id}`));
        await expectNotFound(other.get(`/runs/${stream.id}/events`));
        await expectNotFound(other.request("POST", `/runs/${stream.id}/stdin`, { data: "bob\n" }));
        await expectNotFound(other.request("POST", `/runs/${stream.id}/cancel`));
      }
      // The same answer as for a session that does not exist: nothing says whose it is.
      const unknown = await bob.get("/sessions/ses_00000000000000000000");
      const theirs = await bob.get(`/sessions/${id}`);
      expect(theirs.status).toBe(unknown.status);
      expect(await alice.describe(id)).toMatchObject({ state: "running", runId: stream.id });
      await stream.writeStdin("alice\n", true);
      expect((await stream.finished()).stdout).toBe("? got alice\n");
      expect(await (await alice.file(id, "private.txt")).text()).toBe("alice only");
      expect((await alice.delete(id)).status).toBe(204);
    });

    it("runs one program at a time: a second run while one runs is 409 session_busy", async () => {
      const id = await alice.open();
      const stream = await alice.stream(id, "value = input()");
      await stream.untilInput();
      expect((await health()).capacity.running).toBe(1);
      const second = await alice.post(id, { code: "print('second')" });
      expect(second.status).toBe(409);
      const problem = await problemOf(second);
      expect(problem).toMatchObject({ code: "session_busy", status: 409 });
      expect(problem.detail).toContain(stream.id);
      const streamed = await alice.request(
        "POST",
        `/sessions/${id}/runs`,
        { code: "print('second')" },
        "application/x-ndjson",
      );
      expect(streamed.status).toBe(409);
      await stream.writeStdin("first\n", true);
      expect((await stream.finished()).status).toBe("succeeded");
      expect((await alice.ok(id, "print(value)")).stdout).toBe("first\n");
      await alice.delete(id);
    });

    it("opens at most maxSessions (503 busy with Retry-After); DELETE frees a slot", async () => {
      expect(await health()).toMatchObject({
        capacity: { sessions: 0, maxSessions: MAX_SESSIONS },
      });
      expect((await health()).features).toContain("sessions");
      const ids: string[] = [];
      for (let i = 0; i < MAX_SESSIONS; i++) ids.push(await alice.open());
      expect((await health()).capacity.sessions).toBe(MAX_SESSIONS);
      const refused = await bob.create();
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await problemOf(refused)).toMatchObject({ code: "busy", status: 503 });
      expect((await alice.delete(ids.shift()!)).status).toBe(204);
      expect((await health()).capacity.sessions).toBe(MAX_SESSIONS - 1);
      ids.push(await bob.open());
      expect((await health()).capacity.sessions).toBe(MAX_SESSIONS);
      for (const id of ids) {
        const owner = (await alice.get(`/sessions/${id}`)).status === 200 ? alice : bob;
        expect((await owner.delete(id)).status).toBe(204);
      }
      expect((await health()).capacity.sessions).toBe(0);
    });

    it("DELETE answers 204, then everything of the session is 404", async () => {
      const id = await alice.open();
      await alice.ok(id, "open('left.txt', 'w').write('x')");
      const deleted = await alice.delete(id);
      expect(deleted.status).toBe(204);
      expect(await deleted.text()).toBe("");
      await expectNotFound(alice.get(`/sessions/${id}`));
      await expectNotFound(alice.post(id, { code: "print(1)" }));
      await expectNotFound(alice.file(id, "left.txt"));
      await expectNotFound(alice.delete(id));
    });

    it("DELETE during a run ends the run with the session", async () => {
      const id = await alice.open();
      const stream = await alice.stream(id, "print('waiting', flush=True)\ninput()");
      await stream.untilStdout("waiting");
      expect((await alice.delete(id)).status).toBe(204);
      const result = await stream.finished();
      expect(result.status).toBe("cancelled");
      expect(result.session).toEqual({ id, state: "lost" });
      // DELETE ends the interpreter at once: what reached the server is kept; on the spawn path
      // bytes still in the sandbox's output relay then (here print's separate "\n") may not be.
      expect(result.stdout).toMatch(/^waiting\n?$/);
      await expectNotFound(alice.get(`/sessions/${id}`));
      expect((await health()).capacity).toMatchObject({ sessions: 0, running: 0 });
    });

    it("a session's run waits for a run slot as any run does; cancel or DELETE end it at once", async () => {
      const oneSlot = createHandler({
        sandbox: "required",
        startup,
        logger: false,
        maxConcurrent: 1,
      });
      const api = new SessionApi(oneSlot);
      const queuedOne = () =>
        vi.waitFor(async () => {
          expect((await oneSlot.health()).capacity).toMatchObject({ running: 1, queued: 1 });
        });
      try {
        const holder = await api.open();
        const waiting = await api.open();
        const held = await api.stream(holder, "input()");
        await held.untilInput();

        const first = api.post(waiting, { code: "print('never')" });
        await queuedOne();
        const { state, runId } = await api.describe(waiting);
        expect(state).toBe("queued");
        expect((await api.request("POST", `/runs/${runId}/cancel`)).status).toBe(202);
        const cancelled = (await (await first).json()) as RunResult;
        expect(cancelled).toMatchObject({ id: runId, status: "cancelled", stdout: "" });
        expect(cancelled.session).toEqual({ id: waiting, state: "kept" });
        expect((await oneSlot.health()).capacity.queued).toBe(0);

        // The session takes its next run (not session_busy), which waits in its turn.
        const second = api.post(waiting, { code: "print('never either')" });
        await queuedOne();
        expect((await api.delete(waiting)).status).toBe(204);
        const ended = (await (await second).json()) as RunResult;
        expect(ended).toMatchObject({ status: "cancelled", stdout: "" });
        expect(ended.session).toEqual({ id: waiting, state: "lost" });

        // The run holding the slot was never disturbed.
        expect((await held.writeStdin("done\n", true)).status).toBe(204);
        expect((await held.finished()).status).toBe("succeeded");
      } finally {
        await oneSlot.close();
      }
    });
  });
}
