/**
 * How long a session lives and what a server says of sessions: idle expiry (the server's
 * timeout, a request's shorter one honoured and a longer one capped, never while a run is in
 * progress), `/health`, sessions switched off, and requests a session cannot take.
 */
import type { HealthResponse } from "@mecha/protocol";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hostProcessesWith, sleepMarker } from "../hostile/helpers";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "./api";

const IDLE_MS = 3000;

export function lifecycleCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`a session's life (${startup})`, { timeout: 30_000 }, () => {
    const handler = createHandler({
      sandbox: "required",
      startup,
      logger: false,
      sessionIdleTimeoutMs: IDLE_MS,
    });
    const off = createHandler({ sandbox: "required", startup, logger: false, maxSessions: 0 });
    const api = new SessionApi(handler);
    afterAll(() => Promise.all([handler.close(), off.close()]));

    async function health(on: SessionApi = api): Promise<HealthResponse> {
      const response = await on.get("/health");
      expect(response.status).toBe(200);
      return (await response.json()) as HealthResponse;
    }

    /** Opens a session asking for `idleTimeoutMs`: its id and the expiry it was given. */
    async function openTimed(idleTimeoutMs?: number) {
      const before = Date.now();
      const response = await api.create(idleTimeoutMs === undefined ? {} : { idleTimeoutMs });
      const after = Date.now();
      expect(response.status).toBe(201);
      const body = (await response.json()) as { id: string; expiresAt: string };
      return { id: body.id, expiresAt: Date.parse(body.expiresAt), before, after };
    }

    /** Waits for the session to be gone: 404, its slot free again. */
    async function expectExpires(id: string): Promise<void> {
      await vi.waitFor(
        async () => {
          expect((await api.get(`/sessions/${id}`)).status).toBe(404);
        },
        { timeout: 10_000, interval: 50 },
      );
      const run = await api.post(id, { code: "print('too late')" });
      expect(run.status).toBe(404);
      expect((await problemOf(run)).code).toBe("not_found");
    }

    it("ends a session left idle: the server's timeout, a shorter one asked for, a longer one capped", async () => {
      const byDefault = await openTimed();
      expect(byDefault.expiresAt).toBeGreaterThanOrEqual(byDefault.before + IDLE_MS);
      expect(byDefault.expiresAt).toBeLessThanOrEqual(byDefault.after + IDLE_MS);
      const longer = await openTimed(3_600_000);
      expect(longer.expiresAt).toBeLessThanOrEqual(longer.after + IDLE_MS);
      // The shorter one opened last, so that the others' opening takes none of its time.
      const shorter = await openTimed(200);
      expect(shorter.expiresAt).toBeGreaterThanOrEqual(shorter.before + 200);
      expect(shorter.expiresAt).toBeLessThanOrEqual(shorter.after + 200);
      expect((await health()).capacity.sessions).toBe(3);

      await expectExpires(shorter.id);
      // The shorter one went first: the others were still there when it did.
      expect((await api.get(`/sessions/${byDefault.id}`)).status).toBe(200);
      await expectExpires(byDefault.id);
      await expectExpires(longer.id);
      expect((await health()).capacity.sessions).toBe(0);
    });

    it("a run moves the expiry on, and a session never expires while its run is in progress", async () => {
      const busy = await openTimed(1_000);
      const before = Date.now();
      await api.ok(busy.id, "state = 'kept'");
      expect(Date.parse((await api.describe(busy.id)).expiresAt)).toBeGreaterThanOrEqual(
        before + 1_000,
      );
      const stream = await api.stream(busy.id, "answer = input()");
      await stream.untilInput();
      // Another session with the same idle timeout, opened after the run started, expires…
      const idle = await openTimed(1_000);
      await expectExpires(idle.id);
      // …while the busy one waits for its input, as long as it takes.
      expect(await api.describe(busy.id)).toMatchObject({ state: "running", runId: stream.id });
      await stream.writeStdin("42\n", true);
      expect((await stream.finished()).status).toBe("succeeded");
      expect((await api.ok(busy.id, "print(state, answer)")).stdout).toBe("kept 42\n");
      await expectExpires(busy.id);
    });

    it("leaves no process behind once a session ends: deleted, expired, lost or closed", async () => {
      /** Opens a session (with `body`) whose first run leaves a marked sleeper running. */
      async function withSleeper(on: SessionApi, body: Parameters<SessionApi["open"]>[0] = {}) {
        const sleep = sleepMarker();
        const id = await on.open(body);
        await on.ok(id, `import subprocess\nsleeper = subprocess.Popen(['sleep', '${sleep}'])`);
        // Popen returns once the child's exec has begun (its close-on-exec pipe closed), which
        // is before the kernel sets up its new argv: on a loaded machine the run can have ended
        // while the sleeper's /proc/<pid>/cmdline is still empty.
        await vi.waitFor(() => expect(hostProcessesWith(sleep)).toHaveLength(1), {
          timeout: 5_000,
          interval: 20,
        });
        return { id, sleep };
      }

      const deleted = await withSleeper(api);
      expect((await api.delete(deleted.id)).status).toBe(204);
      expect(hostProcessesWith(deleted.sleep)).toEqual([]);

      const expired = await withSleeper(api, { idleTimeoutMs: 1_000 });
      await expectExpires(expired.id);
      await vi.waitFor(() => expect(hostProcessesWith(expired.sleep)).toEqual([]), {
        timeout: 5000,
        interval: 50,
      });

      const lost = await withSleeper(api);
      // Its interpreter ends, its sleeper holding stdout: the run ends with the interpreter.
      const ended = await api.run(lost.id, "import os\nprint('bye', flush=True)\nos._exit(0)");
      expect(ended).toMatchObject({
        status: "failed",
        stdout: "bye\n",
        session: { state: "lost" },
      });
      expect(hostProcessesWith(lost.sleep)).toEqual([]);

      const closing = createHandler({ sandbox: "required", startup, logger: false });
      const open = await withSleeper(new SessionApi(closing));
      await closing.close();
      expect(hostProcessesWith(open.sleep)).toEqual([]);
    });

    it("lists sessions in /health: their count, the maximum and the feature", async () => {
      const before = await health();
      expect(before.features).toContain("sessions");
      expect(before.capacity.maxSessions).toBeGreaterThan(0);
      const id = await api.open();
      expect((await health()).capacity.sessions).toBe((before.capacity.sessions ?? 0) + 1);
      await api.delete(id);
      expect((await health()).capacity.sessions).toBe(before.capacity.sessions);
    });

    it("with maxSessions 0 has no sessions: 404 problems, no feature, runs as before", async () => {
      const offApi = new SessionApi(off);
      const response = await offApi.create();
      expect(response.status).toBe(404);
      const problem = await problemOf(response);
      expect(problem.code).toBe("not_found");
      expect(problem.detail).toMatch(/off/);
      expect((await offApi.post("ses_00000000000000000000", { code: "1" })).status).toBe(404);
      const offHealth = await health(offApi);
      expect(offHealth.features).not.toContain("sessions");
      expect(offHealth.capacity.maxSessions ?? 0).toBe(0);
      const run = await offApi.request("POST", "/runs", {
        language: "python",
        code: "print(6 * 7)",
      });
      expect(run.status).toBe(200);
      expect(((await run.json()) as { stdout: string }).stdout).toBe("42\n");
    });

    it("answers 404 not_found for a session that never was", async () => {
      const id = "ses_0123456789abcdef0123";
      for (const response of [
        api.get(`/sessions/${id}`),
        api.post(id, { code: "print(1)" }),
        api.file(id, "a.txt"),
        api.delete(id),
      ]) {
        const answered = await response;
        expect(answered.status).toBe(404);
        expect((await problemOf(answered)).detail).toContain(id);
      }
    });

    it("refuses a session request it cannot take with a 400 naming what is allowed", async () => {
      const cases: [unknown, RegExp][] = [
        [{ language: "ruby" }, /python/],
        [{}, /language/],
        [{ language: "python", limits: { timeoutMs: 0 } }, /timeoutMs/],
        [{ language: "python", limits: { memoryMb: "lots" } }, /memoryMb/],
        [{ language: "python", limits: "fast" }, /limits/],
        [{ language: "python", idleTimeoutMs: -5 }, /idleTimeoutMs/],
        [{ language: "python", files: [{ path: "../escape.py", content: "" }] }, /path/],
        [{ language: "python", files: [{ path: "a.py" }] }, /content/],
        [[1, 2], /JSON object/],
      ];
      for (const [body, names] of cases) {
        const response = await api.request("POST", "/sessions", body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        const problem = await problemOf(response);
        expect(problem.code).toBe("invalid_request");
        expect(problem.detail, JSON.stringify(body)).toMatch(names);
      }
      const notJson = await api.request("POST", "/sessions", "{language: python");
      expect(notJson.status).toBe(400);
      expect((await health()).capacity.sessions).toBe(0);
    });

    it("refuses a session run it cannot take with a 400, and the session goes on", async () => {
      const id = await api.open({ limits: { memoryMb: 128 } });
      const cases: [unknown, RegExp][] = [
        [{}, /code/],
        [{ code: 42 }, /code/],
        [{ code: "1", limits: { timeoutMs: -1 } }, /timeoutMs/],
        [{ code: "1", stdin: 5 }, /stdin/],
        [{ code: "1", files: [{ path: "/etc/x", content: "" }] }, /path/],
        [{ code: "1", limits: { memoryMb: 256 } }, /128 MB/],
      ];
      for (const [body, names] of cases) {
        const response = await api.request("POST", `/sessions/${id}/runs`, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        const problem = await problemOf(response);
        expect(problem.code).toBe("invalid_request");
        expect(problem.detail, JSON.stringify(body)).toMatch(names);
      }
      expect((await api.ok(id, "print('still open')")).stdout).toBe("still open\n");
      await api.delete(id);
    });
  });
}
