/**
 * What a session keeps between its runs, over HTTP: variables, imports, files and the working
 * directory; a final expression shown as a notebook shows it; exceptions, standard input given
 * up front or asked for by `input()`, and cancel, each leaving the session's state as it was.
 */
import type { RunResult } from "@mecha/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "./api";

const text = (value: string) => ({ data: { "text/plain": value } });

export function stateCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`a session's state (${startup})`, { timeout: 30_000 }, () => {
    const handler = createHandler({ sandbox: "required", startup, logger: false });
    const api = new SessionApi(handler);
    afterAll(() => handler.close());

    it("opens with 201, its id, expiry and Location, and answers GET as idle", async () => {
      const before = Date.now();
      const response = await api.create({ idleTimeoutMs: 60_000 });
      expect(response.status).toBe(201);
      const body = (await response.json()) as { id: string; expiresAt: string };
      expect(Object.keys(body).sort()).toEqual(["expiresAt", "id"]);
      expect(body.id).toMatch(/^ses_[0-9a-f]{20}$/);
      expect(response.headers.get("location")).toBe(`/sessions/${body.id}`);
      expect(Date.parse(body.expiresAt)).toBeGreaterThanOrEqual(before + 60_000);
      expect(await api.describe(body.id)).toMatchObject({ id: body.id, state: "idle" });
      expect((await api.delete(body.id)).status).toBe(204);
    });

    it("keeps variables, imports, files and the working directory from run to run", async () => {
      const id = await api.open();
      await api.ok(
        id,
        [
          "import json, os",
          "counter = 41",
          "def bump(n):",
          "    return n + 1",
          "open('notes.txt', 'w').write('kept on disk')",
          "os.makedirs('work', exist_ok=True)",
          "os.chdir('work')",
        ].join("\n"),
      );
      const result = await api.ok(
        id,
        [
          "print(json.dumps({'counter': bump(counter)}))",
          "print(os.path.basename(os.getcwd()))",
          "print(open('../notes.txt').read())",
        ].join("\n"),
      );
      expect(result.stdout).toBe('{"counter": 42}\nwork\nkept on disk\n');
      // A third run still sees what the first defined, and what the second changed nothing of.
      expect((await api.ok(id, "counter += 1\nprint(counter)")).stdout).toBe("42\n");
      expect((await api.ok(id, "print(counter)")).stdout).toBe("42\n");
      await api.delete(id);
    });

    it("shows a final expression as a text/plain display, not with `;`, and keeps it as `_`", async () => {
      const id = await api.open();
      await api.ok(id, "x = 41");
      const shown = await api.ok(id, "x + 1");
      expect(shown.stdout).toBe("");
      expect(shown.displays).toEqual([text("42")]);
      const suppressed = await api.ok(id, "x + 100;");
      expect(suppressed.displays).toBeUndefined();
      expect(suppressed.stdout).toBe("");
      // Nothing shown for None, nor for a statement.
      expect((await api.ok(id, "None")).displays).toBeUndefined();
      expect((await api.ok(id, "y = x")).displays).toBeUndefined();
      // `_` is the last value shown: not the suppressed one, nor None.
      expect((await api.ok(id, "_ * 2")).displays).toEqual([text("84")]);
      expect((await api.ok(id, "_")).displays).toEqual([text("84")]);
      // The repr, as a notebook shows it.
      expect((await api.ok(id, "'a' + \"b\"")).displays).toEqual([text("'ab'")]);
      expect((await api.ok(id, "[x, {'k': None}]")).displays).toEqual([text("[41, {'k': None}]")]);
      await api.delete(id);
    });

    it("prints before it shows the final expression, in the stream's order", async () => {
      const id = await api.open();
      const stream = await api.stream(id, "print('before')\n6 * 7");
      const result = await stream.finished();
      expect(result.status).toBe("succeeded");
      const shown = stream.events
        .filter((event) => event.type === "stdout" || event.type === "display")
        .map((event) => (event.type === "stdout" ? event.data : event.data["text/plain"]));
      expect(shown.join("")).toBe("before\n42");
      expect(shown.at(-1)).toBe("42");
      expect(result.stdout).toBe("before\n");
      expect(result.displays).toEqual([text("42")]);
      await api.delete(id);
    });

    it("reports an exception with its cell line, and the session's state survives it", async () => {
      const id = await api.open();
      await api.ok(id, "kept = 'still here'");
      const failed = await api.run(id, "a = 1\nb = 0\nquotient = a / b\nprint('never')");
      expect(failed.status).toBe("failed");
      expect(failed.session).toEqual({ id, state: "kept" });
      expect(failed.error).toMatchObject({ type: "ZeroDivisionError", line: 3 });
      expect(failed.stdout).toBe("");
      expect(failed.stderr).toMatch(/^Traceback \(most recent call last\):\n/);
      expect(failed.stderr).toContain("line 3");
      expect(failed.stderr).toContain("quotient = a / b");
      expect(failed.stderr).toMatch(/ZeroDivisionError: division by zero\n$/);
      // Nothing of the server's own machinery in the traceback.
      expect(failed.stderr).not.toMatch(/mecha_session|bootstrap/);
      // What ran before the error in that cell happened; what came after did not.
      const after = await api.ok(id, "print(kept, a, b, 'quotient' in globals())");
      expect(after.stdout).toBe("still here 1 0 False\n");
      await api.delete(id);
    });

    it("names each cell in a traceback that runs through several, and a syntax error's line", async () => {
      const id = await api.open();
      await api.ok(id, "def invert(n):\n    return 1 / n");
      const failed = await api.run(id, "x = 1\ninvert(0)");
      expect(failed.error).toMatchObject({ type: "ZeroDivisionError", line: 2 });
      expect(failed.stderr).toContain('File "<cell 2>", line 2, in <module>\n    invert(0)\n');
      expect(failed.stderr).toContain('File "<cell 1>", line 2, in invert\n    return 1 / n\n');
      const syntax = await api.run(id, "y = 2\ndef broken(:\n    pass");
      expect(syntax.status).toBe("failed");
      expect(syntax.error).toMatchObject({ type: "SyntaxError", line: 2 });
      expect(syntax.stderr).toContain("def broken(:");
      expect(syntax.session).toEqual({ id, state: "kept" });
      // Nothing of a cell that does not compile ran.
      expect((await api.ok(id, "print(x, 'y' in globals())")).stdout).toBe("1 False\n");
      await api.delete(id);
    });

    it("takes sys.exit() as the cell's end, and os._exit() as the session's", async () => {
      const id = await api.open();
      const exited = await api.run(id, "import sys\nkept = 'here'\nsys.exit(3)");
      expect(exited).toMatchObject({
        status: "failed",
        exitCode: 3,
        session: { id, state: "kept" },
      });
      expect((await api.ok(id, "print(kept)")).stdout).toBe("here\n");
      const ended = await api.run(id, "import os\nos._exit(5)");
      expect(ended).toMatchObject({
        status: "failed",
        exitCode: 5,
        session: { id, state: "lost" },
      });
      const next = await api.post(id, { code: "print(kept)" });
      expect(next.status).toBe(410);
      expect((await problemOf(next)).code).toBe("session_lost");
      await api.delete(id);
    });

    it("never says a run succeeded when the session ended under it", async () => {
      const id = await api.open();
      // A thread of the first run ends the interpreter (exit status 0) once the second has begun.
      await api.ok(
        id,
        [
          "import os, threading, time",
          "def end_when_told():",
          "    while not os.path.exists('go'):",
          "        time.sleep(0.01)",
          "    os._exit(0)",
          "threading.Thread(target=end_when_told, daemon=True).start()",
        ].join("\n"),
      );
      const result = await api.run(
        id,
        "open('go', 'w').close()\nthreading.Event().wait()\nprint('never')",
      );
      expect(result.status).toBe("failed");
      expect(result.stdout).toBe("");
      expect(result.session).toEqual({ id, state: "lost" });
      expect((await api.post(id, { code: "print(1)" })).status).toBe(410);
      await api.delete(id);
    });

    it("answers a repeated Idempotency-Key with the same run, executed once", async () => {
      const id = await api.open();
      await api.ok(id, "count = 0");
      const keyed = () =>
        handler(
          new Request(`http://localhost/sessions/${id}/runs`, {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": `key-${id}` },
            body: JSON.stringify({ code: "count += 1\nprint(count)" }),
          }),
        );
      const first = (await (await keyed()).json()) as RunResult;
      const again = (await (await keyed()).json()) as RunResult;
      expect(again).toEqual(first);
      expect(first.stdout).toBe("1\n");
      expect((await api.ok(id, "print(count)")).stdout).toBe("1\n");
      await api.delete(id);
    });

    it("reads standard input given with the run, and none of it is left for the next", async () => {
      const id = await api.open();
      const result = await api.ok(id, {
        code: "first = input()\nsecond = input('> ')\nprint(first + second)",
        stdin: "ab\ncd\nleft over\n",
      });
      expect(result.stdout).toBe("> abcd\n");
      const next = await api.run(id, "print(first, second)\ninput()");
      expect(next.status).toBe("failed");
      expect(next.stdout).toBe("ab cd\n");
      expect(next.error?.type).toBe("EOFError");
      expect(next.session).toEqual({ id, state: "kept" });
      await api.delete(id);
    });

    it("asks for input() over NDJSON and takes it from POST /runs/{runId}/stdin", async () => {
      const id = await api.open();
      const stream = await api.stream(id, "name = input('name? ')\nprint('hello', name)");
      expect(stream.id).toMatch(/\S/);
      const asked = await stream.untilInput();
      expect(asked.prompt).toBe("name? ");
      expect(await api.describe(id)).toMatchObject({ state: "running", runId: stream.id });
      expect((await stream.writeStdin("Ada\n")).status).toBe(204);
      const result = await stream.finished();
      expect(result.status).toBe("succeeded");
      expect(result.stdout).toBe("name? hello Ada\n");
      expect(result.session).toEqual({ id, state: "kept" });
      // The run is a run like any other: read again after the fact.
      const again = await api.get(`/runs/${stream.id}`);
      expect(await again.json()).toEqual(result);
      expect((await api.ok(id, "name")).displays).toEqual([text("'Ada'")]);
      await api.delete(id);
    });

    it("asks for input when a streamed cell reads sys.stdin and nothing has come yet", async () => {
      const id = await api.open();
      const stream = await api.stream(
        id,
        "import sys\nline = sys.stdin.readline()\nprint('got', line)",
      );
      expect(await stream.untilInput()).toMatchObject({ prompt: "" });
      expect((await stream.writeStdin("Ada\n")).status).toBe(204);
      const result = await stream.finished();
      expect(result.stdout).toBe("got Ada\n\n");
      expect(result.session).toEqual({ id, state: "kept" });
      // A JSON cell reads the standard input it was given, then end of input.
      const given = await api.ok(id, { code: "print(repr(sys.stdin.read()))", stdin: "x" });
      expect(given.stdout).toBe("'x'\n");
      await api.delete(id);
    });

    it("cancels a busy loop as an interrupt: cancelled, the session and its variables kept", async () => {
      const id = await api.open();
      await api.ok(id, "import itertools\ntotal = 7");
      const stream = await api.stream(id, "print('spinning', flush=True)\nwhile True:\n    pass");
      await stream.untilStdout("spinning");
      expect((await stream.cancel()).status).toBe(202);
      const result = await stream.finished();
      expect(result.status).toBe("cancelled");
      expect(result.session).toEqual({ id, state: "kept" });
      expect(await api.describe(id)).toMatchObject({ state: "idle" });
      const after = await api.ok(id, "print(total, list(itertools.islice(itertools.count(), 3)))");
      expect(after.stdout).toBe("7 [0, 1, 2]\n");
      await api.delete(id);
    });
  });
}
