/**
 * A session's limits, as a user meets them over HTTP: a run over its time limit interrupted
 * (the session kept) or, when its code will not stop, the session ended and said to be lost;
 * memory and processes counted over the session's whole life, not per run; an output flood
 * ending as any run's does, the session's state after it told as it is.
 */
import type { RunResult } from "@mecha/protocol";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "./api";

const MAX_PROCESSES = 24;

/** Code that will not be interrupted: it catches every KeyboardInterrupt and goes on. */
const STUBBORN = [
  "shown = False",
  "while True:",
  "    try:",
  // Said once it is inside the `try`: an interrupt from then on is caught.
  "        if not shown:",
  "            shown = True",
  "            print('holding on', flush=True)",
  "        while True:",
  "            pass",
  "    except KeyboardInterrupt:",
  "        pass",
].join("\n");

export function limitCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`a session's limits (${startup})`, { timeout: 30_000 }, () => {
    const handler = createHandler({
      sandbox: "required",
      startup,
      logger: false,
      maxProcesses: MAX_PROCESSES,
    });
    const api = new SessionApi(handler);
    afterAll(() => handler.close());

    /** The session has ended with its interpreter: every later use says so. */
    async function expectLost(id: string): Promise<void> {
      const next = await api.post(id, { code: "print('never runs')" });
      expect(next.status).toBe(410);
      expect(await problemOf(next)).toMatchObject({ code: "session_lost", status: 410 });
      expect(await api.describe(id)).toMatchObject({ id, state: "lost" });
      const file = await api.file(id, "anything.txt");
      expect(file.status).toBe(410);
      // A lost session holds no interpreter, so it is not counted as open.
      expect((await handler.health()).capacity.sessions).toBe(0);
      expect((await api.delete(id)).status).toBe(204);
      expect((await api.get(`/sessions/${id}`)).status).toBe(404);
    }

    it("interrupts a run over its time limit: timed_out, the session and its state kept", async () => {
      const id = await api.open();
      await api.ok(id, "kept = [1, 2, 3]");
      const result = await api.run(id, {
        code: "print('looping', flush=True)\nwhile True:\n    pass",
        limits: { timeoutMs: 500 },
      });
      expect(result.status).toBe("timed_out");
      expect(result.stdout).toBe("looping\n");
      expect(result.session).toEqual({ id, state: "kept" });
      expect(await api.describe(id)).toMatchObject({ state: "idle" });
      expect((await api.ok(id, "sum(kept)")).displays).toEqual([{ data: { "text/plain": "6" } }]);
      await api.delete(id);
    });

    it("ends a session whose run will not stop at its time limit, and says it is lost", async () => {
      const id = await api.open();
      await api.ok(id, "kept = 1");
      expect((await handler.health()).capacity.sessions).toBe(1);
      const result = await api.run(id, { code: STUBBORN, limits: { timeoutMs: 500 } });
      expect(result.status).toBe("timed_out");
      expect(result.stdout).toBe("holding on\n");
      expect(result.session).toEqual({ id, state: "lost" });
      await expectLost(id);
    });

    it("ends a session whose code closed the session's own descriptors at once, not at its time limit", async () => {
      const id = await api.open();
      await api.ok(id, "kept = 1");
      const result = await api.run(id, {
        code: "import os\nprint('closing', flush=True)\nos.closerange(3, 4096)\nimport time\ntime.sleep(0.5)",
        limits: { timeoutMs: 30_000 },
      });
      expect(result.status).toBe("failed");
      expect(result.session).toEqual({ id, state: "lost" });
      expect(result.stderr).not.toContain("Traceback");
      await expectLost(id);
    });

    it("a cancel the code will not take ends the session too, and says so", async () => {
      const id = await api.open();
      const stream = await api.stream(id, STUBBORN);
      await stream.untilStdout("holding on");
      expect((await stream.cancel()).status).toBe(202);
      const result = await stream.finished();
      expect(result.status).toBe("cancelled");
      expect(result.session).toEqual({ id, state: "lost" });
      await expectLost(id);
    });

    it("gives each run the limits the session was opened with, input() waits included", async () => {
      const id = await api.open({ limits: { timeoutMs: 400, outputBytes: 5000 } });
      await api.ok(id, "kept = 'yes'");
      const waiting = await api.stream(id, "answer = input('? ')");
      await waiting.untilInput();
      const result = await waiting.finished();
      expect(result).toMatchObject({ status: "timed_out", session: { id, state: "kept" } });
      expect(result.limits).toMatchObject({ timeoutMs: 400, outputBytes: 5000 });
      const flood = await api.run(id, "print('z' * 6000)");
      expect(flood).toMatchObject({ status: "output_exceeded", truncated: true });
      // A run may ask for its own time limit.
      const longer = await api.ok(id, { code: "print(kept)", limits: { timeoutMs: 5000 } });
      expect(longer.limits?.timeoutMs).toBe(5000);
      await api.delete(id);
    });

    it("a process of the session killed for memory is memory_exceeded, the session kept", async () => {
      const id = await api.open({ limits: { memoryMb: 96 } });
      const result = await api.run(
        id,
        [
          "import subprocess, sys",
          "kept = 'yes'",
          "child = subprocess.run([sys.executable, '-c', \"b = b'x' * (200 << 20)\"])",
          "print('child', child.returncode)",
        ].join("\n"),
      );
      expect(result.status).toBe("memory_exceeded");
      expect(result.stdout).toBe("child -9\n");
      expect(result.session).toEqual({ id, state: "kept" });
      expect((await api.ok(id, "print(kept)")).stdout).toBe("yes\n");
      await api.delete(id);
    });

    it("counts memory over the session's life: steps that each fit end as memory_exceeded, then lost", async () => {
      const memoryMb = 96;
      const id = await api.open({ limits: { memoryMb } });
      await api.ok(id, "blocks = []");
      const results: RunResult[] = [];
      // 16 MiB a run, kept: the sixth step is over 96 MiB, whatever the interpreter itself holds.
      for (let step = 0; step < 8; step++) {
        const result = await api.run(id, {
          code: "blocks.append(b'\\x01' * (16 << 20))\nprint(len(blocks))",
        });
        results.push(result);
        if (result.status !== "succeeded") break;
        expect(result.session).toEqual({ id, state: "kept" });
        expect(result.stdout).toBe(`${step + 1}\n`);
      }
      const last = results.at(-1)!;
      expect(results.length).toBeGreaterThan(1);
      expect(results.length).toBeLessThanOrEqual(6);
      expect(last.status).toBe("memory_exceeded");
      expect(last.session).toEqual({ id, state: "lost" });
      await expectLost(id);
    });

    it("holds the memory limit a session was opened with when a run asks for more", async () => {
      const id = await api.open({ limits: { memoryMb: 64 } });
      const refused = await api.post(id, {
        code: "big = b'\\x01' * (200 << 20)",
        limits: { memoryMb: 512 },
      });
      expect(refused.status).toBe(400);
      const problem = await problemOf(refused);
      expect(problem.code).toBe("invalid_request");
      expect(problem.detail).toContain("64 MB");
      // The same memory limit again is no change, and a run may set its own time limit.
      await api.ok(id, { code: "small = 1", limits: { memoryMb: 64, timeoutMs: 5000 } });
      await api.delete(id);
    });

    it("counts threads left running by an earlier run against the process limit", async () => {
      const id = await api.open();
      const started = await api.ok(
        id,
        [
          "import threading",
          "stop = threading.Event()",
          "workers = []",
          "while True:",
          "    worker = threading.Thread(target=stop.wait, daemon=True)",
          "    try:",
          "        worker.start()",
          "    except RuntimeError:",
          "        break",
          "    workers.append(worker)",
          "print(len(workers))",
        ].join("\n"),
      );
      const held = Number(started.stdout.trim());
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThan(MAX_PROCESSES);
      // The threads outlive their run: the next run finds the limit still reached.
      const next = await api.run(id, "threading.Thread(target=stop.wait).start()");
      expect(next.status).toBe("failed");
      expect(next.error?.type).toBe("RuntimeError");
      expect(next.session).toEqual({ id, state: "kept" });
      const forked = await api.run(id, "import subprocess\nsubprocess.run(['true'])");
      expect(forked.status).toBe("failed");
      expect(forked.error?.type).toMatch(/Error$/);
      // Once they end, the room is back.
      await api.ok(id, "stop.set()\nfor worker in workers:\n    worker.join()");
      await api.ok(id, "extra = threading.Thread(target=stop.wait)\nextra.start()\nextra.join()");
      await api.delete(id);
    });

    it("ends an output flood at the output limit; the session is kept and its state intact", async () => {
      const id = await api.open();
      await api.ok(id, "kept = 'yes'");
      const cap = 20_000;
      const result = await api.run(id, {
        code: "while True:\n    print('x' * 999)",
        limits: { outputBytes: cap },
      });
      expect(result.status).toBe("output_exceeded");
      expect(result.truncated).toBe(true);
      expect(
        Buffer.byteLength(result.stdout) + Buffer.byteLength(result.stderr),
      ).toBeLessThanOrEqual(cap);
      expect(result.stdout).toMatch(/^(x{999}\n)+/);
      expect(result.session).toEqual({ id, state: "kept" });
      expect(await api.describe(id)).toMatchObject({ state: "idle" });
      // The next run's output is its own: nothing of the flood comes with it.
      const after = await api.ok(id, "print(kept)");
      expect(after.stdout).toBe("yes\n");
      expect(after.stderr).toBe("");
      await api.delete(id);
    });

    it("keeps the session of a run interrupted over its output limit as it displays its value", async () => {
      const id = await api.open();
      // The cell's value (os.write's count) is displayed as it ends: the interrupt the output
      // limit asks for may land after that display's markers are written and before it is sent.
      for (let round = 0; round < 12; round++) {
        const over = await api.run(id, {
          code: "import os\nos.write(1, b'x' * 30000)",
          limits: { outputBytes: 20_000 },
        });
        expect(over.status).toBe("output_exceeded");
        expect(over.session).toEqual({ id, state: "kept" });
        expect((await api.ok(id, "print('next')")).stdout).toBe("next\n");
      }
      await api.delete(id);
    });

    it("lets output between runs flow past a display marker the program forged, keeping 64 KiB of it", async () => {
      const id = await api.open();
      // Once its cell has ended (the interpreter waits for the next), a thread forges the marker
      // of a display that never comes, so that the server would hold what follows, floods, and
      // then says so in a file.
      const first = await api.run(id, {
        code: [
          "import os, sys, threading, time",
          "forged = display.__self__.marker + b'999999\\x07'",
          "main = threading.main_thread().ident",
          "def flood():",
          "    while sys._current_frames()[main].f_code.co_name != 'next_cell':",
          "        time.sleep(0.001)",
          "    os.write(1, forged)",
          "    chunk = b'z' * 65536",
          "    for _ in range(256):",
          "        os.write(1, chunk)",
          "    open('flooded', 'w').close()",
          "threading.Thread(target=flood, daemon=True).start()",
        ].join("\n"),
        limits: { outputBytes: 20_000 },
      });
      // The flood may reach the server before the cell's end does: then it counts as the cell's.
      expect(["succeeded", "output_exceeded"]).toContain(first.status);
      await vi.waitFor(async () => expect((await api.file(id, "flooded")).status).toBe(200), {
        timeout: 10_000,
      });
      // The next run's output is not held behind the forged marker, and of the 16 MiB only what
      // a session keeps between runs (and what was still in the pipe) comes with it.
      const next = await api.run(id, {
        code: "print('after')",
        limits: { outputBytes: 1_000_000 },
      });
      expect(next.status).toBe("succeeded");
      expect(next.stdout.endsWith("after\n")).toBe(true);
      expect(next.stdout.length).toBeLessThan(256 * 1024);
      expect(await api.describe(id)).toMatchObject({ state: "idle" });
      await api.delete(id);
    });

    it("ends a flood that will not stop with its session, and says it is lost", async () => {
      const id = await api.open();
      const result = await api.run(id, {
        code: [
          "while True:",
          "    try:",
          "        while True:",
          "            print('y' * 999)",
          "    except KeyboardInterrupt:",
          "        pass",
        ].join("\n"),
        limits: { outputBytes: 20_000 },
      });
      expect(result.status).toBe("output_exceeded");
      expect(result.truncated).toBe(true);
      expect(result.session).toEqual({ id, state: "lost" });
      await expectLost(id);
    });
  });
}
