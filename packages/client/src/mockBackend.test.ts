import type { RunRequest } from "@mecha/protocol";
import { RunResult } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import type { ClientRunEvent } from "./backend";
import { isMechaError } from "./errors/isMechaError";
import { createMockBackend, echoLiteralPrints, MOCK_NOTICE } from "./mockBackend";

const request = (code: string): RunRequest => ({ language: "python", code });

async function runMock(code: string, responder?: Parameters<typeof createMockBackend>[0]) {
  const events: ClientRunEvent[] = [];
  const run = createMockBackend(responder).start(request(code), {
    signal: new AbortController().signal,
    interactive: false,
    onEvent: (event) => events.push(event),
  });
  return { result: await run.result, events };
}

describe("echoLiteralPrints", () => {
  it.each([
    ['print("hello")', "hello\n"],
    ["print('single')", "single\n"],
    ['print( "spaces" )  # a comment', "spaces\n"],
    ["print()", "\n"],
    ['print("tab\\there\\nnew line")', "tab\there\nnew line\n"],
    ['print("quote \\" inside")', 'quote " inside\n'],
    ["print('it\\'s')", "it's\n"],
    ['print("\\x41\\u00e9\\U0001F600\\101")', "Aé😀A\n"],
    ['print(r"raw\\n")', "raw\\n\n"],
    ['print(u"unicode")', "unicode\n"],
    ['print("héllo ✓")', "héllo ✓\n"],
    ['# only a comment\n\nprint("a")\nprint("b")\n', "a\nb\n"],
  ])("echoes %j", (code, stdout) => {
    expect(echoLiteralPrints(request(code))).toEqual({ stdout });
  });

  it.each([
    ["x = 1", 1],
    ['print("a")\nname = input()\nprint("b")', 2],
    ['for i in range(3):\n    print("hi")', 1],
    ['if False:\n    print("never")', 1],
    ['print(f"{1 + 1}")', 1],
    ['print("a", "b")', 1],
    ['print("a" + "b")', 1],
    ['print("a", end="")', 1],
    ['print(b"bytes")', 1],
    ['print("\\N{BULLET}")', 1],
    ['print("\\xZZ")', 1],
    ['print("a"); print("b")', 1],
    ['print("""doc""")', 1],
  ])("does not pretend to run %j (stops at line %i)", (code, line) => {
    const output = echoLiteralPrints(request(code));
    expect(output.status).toBe("failed");
    expect(output.error?.message).toContain(`Line ${line} was not run`);
    expect(output.stderr).toContain("[mock]");
    expect(output.stdout).not.toContain("never");
    expect(output.stdout).not.toContain("2");
  });

  it("keeps the literal output before the first line it cannot simulate", () => {
    expect(echoLiteralPrints(request('print("start")\nx = 1 / 0\nprint("end")'))).toMatchObject({
      stdout: "start\n",
      status: "failed",
    });
  });
});

describe("createMockBackend", () => {
  it("says in its output that it is simulated, measures nothing, and emits the protocol's events", async () => {
    const { result, events } = await runMock('print("hi")');
    expect(RunResult.parse(result)).toEqual(result);
    expect(result).toMatchObject({
      status: "succeeded",
      stdout: `${MOCK_NOTICE}hi\n`,
      exitCode: null,
      cpuTimeMs: null,
      memoryKb: null,
    });
    expect(MOCK_NOTICE).toMatch(/simulated/i);
    expect(MOCK_NOTICE).toMatch(/unreachable/);
    expect(events.map((e) => e.type)).toEqual(["started", "stdout", "exit"]);
    expect(events.at(-1)).toEqual({ type: "exit", result });
  });

  it("reports code it cannot simulate as a failed, unrun program", async () => {
    const { result, events } = await runMock("import os\nprint(os.getcwd())");
    expect(result.status).toBe("failed");
    expect(result.stdout).toBe(MOCK_NOTICE);
    expect(result.error?.type).toBe("NotSimulated");
    expect(events.map((e) => e.type)).toEqual(["started", "stdout", "stderr", "exit"]);
  });

  it("uses a custom responder but still labels the output as simulated", async () => {
    const { result } = await runMock("anything", async (req) => ({
      stdout: `canned answer for ${req.code.length} chars\n`,
      stderr: "warn\n",
    }));
    expect(result.stdout).toBe(`${MOCK_NOTICE}canned answer for 8 chars\n`);
    expect(result.stderr).toBe("warn\n");
  });

  it("gives each run its own id", async () => {
    const backend = createMockBackend();
    const options = { signal: new AbortController().signal, interactive: false, onEvent() {} };
    const a = await backend.start(request("print()"), options).result;
    const b = await backend.start(request("print()"), options).result;
    expect(a.id).not.toBe(b.id);
  });

  it("rejects with an aborted error when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const run = createMockBackend().start(request('print("x")'), {
      signal: controller.signal,
      interactive: false,
      onEvent() {},
    });
    const error = await run.result.catch((e) => e);
    expect(isMechaError(error, "aborted")).toBe(true);
  });
});
