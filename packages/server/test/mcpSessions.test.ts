/**
 * MCP sessions without Python (a runtime whose sessions the test can see): when they end without
 * a DELETE — after the idle timeout with no request, no open stream and no call running (fake
 * timers) — how many may be open, and how many calls may wait for one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { MAX_WAITING_CALLS } from "../src/mcp/mcpRunner";
import type { RunOutcome, Runtime, RuntimeSession } from "../src/runtime/types";
import { OUTCOME } from "./support/fakeRuntime";
import { postMcp } from "./support/mcpClient";

const IDLE_MS = 60_000;
const PROTOCOL = "2025-06-18";

/**
 * A runtime whose sessions answer each run with `<session id> run <n>` (once `gate` opens, when
 * given), and say when closed.
 */
function sessionRuntime(gate?: Promise<void>) {
  const closed: string[] = [];
  const runtime: Runtime = {
    info: async () => ({ language: "python", version: "3.11.2", isolation: "sandbox" }),
    features: ["sessions"],
    start() {
      throw new Error("every run here is in a session");
    },
    async openSession({ id }): Promise<RuntimeSession> {
      let runs = 0;
      let lost = false;
      let end!: () => void;
      const ended = new Promise<void>((resolve) => {
        end = resolve;
      });
      const outcome = (): RunOutcome => ({
        ...OUTCOME,
        stdout: `${id} run ${++runs}\n`,
        sessionState: "kept",
      });
      return {
        start: () => ({
          writeStdin() {},
          stdinBuffered: 0,
          cancel() {},
          done: gate ? gate.then(outcome) : Promise.resolve(outcome()),
        }),
        readFile: () => Promise.reject(new Error("no files here")),
        get lost() {
          return lost;
        },
        ended,
        async close() {
          lost = true;
          closed.push(id);
          end();
        },
      };
    },
    close: async () => {},
  };
  return { runtime, closed };
}

/** One JSON-RPC POST to `/mcp`: its status, session id, and the messages of its event stream. */
async function rpc(handler: MechaHandler, body: object, sessionId?: string) {
  const response = await postMcp(
    handler,
    body,
    sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": PROTOCOL } : {},
  );
  const messages = (await response.text())
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)));
  return { status: response.status, sessionId: response.headers.get("mcp-session-id"), messages };
}

async function initialize(handler: MechaHandler): Promise<string> {
  const { sessionId } = await rpc(handler, {
    id: 0,
    method: "initialize",
    params: {
      protocolVersion: PROTOCOL,
      capabilities: {},
      clientInfo: { name: "t", version: "1" },
    },
  });
  await rpc(handler, { method: "notifications/initialized" }, sessionId!);
  return sessionId!;
}

/** A gate for the runs of `sessionRuntime`, and how to open it. */
function gated(): { gate: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
}

const run = (handler: MechaHandler, sessionId: string, code: string, id = 1) =>
  rpc(
    handler,
    { id, method: "tools/call", params: { name: "run_python", arguments: { code } } },
    sessionId,
  );

const textOf = (answer: Awaited<ReturnType<typeof run>>): string =>
  answer.messages[0].result.content.map((part: { text: string }) => part.text).join("\n");

describe("MCP session expiry", () => {
  let handler: MechaHandler;
  let closed: string[];
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const made = sessionRuntime();
    closed = made.closed;
    handler = createHandler({
      runtime: made.runtime,
      mcp: true,
      sessionIdleTimeoutMs: IDLE_MS,
      logger: false,
    });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await handler.close();
  });

  it("ends an MCP session unused for the idle timeout, and its Mecha session with it", async () => {
    const id = await initialize(handler);
    expect(textOf(await run(handler, id, "a = 1"))).toMatch(/^ses_\w+ run 1\n$/);
    expect((await handler.health()).capacity.sessions).toBe(1);
    await vi.advanceTimersByTimeAsync(IDLE_MS - 1);
    expect((await run(handler, id, "a")).status).toBe(200);
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect((await run(handler, id, "a")).status).toBe(404);
    expect((await handler.health()).capacity.sessions).toBe(0);
    expect(closed).toHaveLength(1);
  });

  it("keeps the MCP session of a client still connected, and replaces a Mecha session that expired, saying so", async () => {
    const id = await initialize(handler);
    const events = await handler(
      new Request("http://localhost/mcp", {
        headers: {
          accept: "text/event-stream",
          "mcp-session-id": id,
          "mcp-protocol-version": PROTOCOL,
        },
      }),
    );
    expect(events.status).toBe(200);
    const first = textOf(await run(handler, id, "a = 1"));
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    // The interpreter, idle for its timeout, has ended; the MCP session has not.
    expect(closed).toEqual([first.split(" ")[0]]);
    const second = await run(handler, id, "a");
    expect(second.status).toBe(200);
    expect(textOf(second)).toMatch(
      /^\[The session of the earlier calls expired after 60 s unused, and its state with it; this ran in a new session\.\]\nses_\w+ run 1\n$/,
    );
    expect(textOf(second)).not.toContain(first.split(" ")[0]);
    // The client goes away: the MCP session ends an idle timeout later.
    await events.body!.cancel();
    await vi.advanceTimersByTimeAsync(IDLE_MS);
    expect((await run(handler, id, "a")).status).toBe(404);
    expect(closed).toHaveLength(2);
  });
});

describe("MCP session maximum", () => {
  it("answers 503 busy beyond 4 × max(maxSessions, maxConcurrent), and opens one again once one ends", async () => {
    const handler = createHandler({
      runtime: sessionRuntime().runtime,
      mcp: true,
      maxConcurrent: 1,
      maxSessions: 1,
      logger: false,
    });
    try {
      const open = await Promise.all([1, 2, 3, 4].map(() => initialize(handler)));
      const refused = await handler(
        new Request("http://localhost/mcp", {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: {} }),
        }),
      );
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      expect(await refused.text()).toMatch(/All 4 MCP sessions are open/);
      const ended = await handler(
        new Request("http://localhost/mcp", {
          method: "DELETE",
          headers: { "mcp-session-id": open[0]!, "mcp-protocol-version": PROTOCOL },
        }),
      );
      expect(ended.status).toBe(200);
      expect(await initialize(handler)).toMatch(/^[\w-]+$/);
    } finally {
      await handler.close();
    }
  });
});

describe("MCP and rateLimit", () => {
  it("counts each run_python call, and answers one over the limit as an error result", async () => {
    const handler = createHandler({
      runtime: sessionRuntime().runtime,
      mcp: true,
      rateLimit: { limit: 2, windowMs: 60_000 },
      logger: false,
    });
    try {
      const id = await initialize(handler);
      expect(textOf(await run(handler, id, "1"))).toMatch(/run 1/);
      expect(textOf(await run(handler, id, "2"))).toMatch(/run 2/);
      const refused = await run(handler, id, "3");
      expect(refused.messages[0].result.isError).toBe(true);
      expect(textOf(refused)).toMatch(/^Too many runs; try again in \d+ s\.$/);
    } finally {
      await handler.close();
    }
  });
});

describe("MCP calls waiting for their session", () => {
  it(`refuses calls beyond ${MAX_WAITING_CALLS} waiting, and code over the limit before it waits`, async () => {
    const { gate, open } = gated();
    const handler = createHandler({
      runtime: sessionRuntime(gate).runtime,
      mcp: true,
      maxCodeBytes: 1024,
      logger: false,
    });
    try {
      const id = await initialize(handler);
      // One runs (held by the gate), MAX_WAITING_CALLS wait, and two more are refused at once.
      const answered: string[] = [];
      const calls = Array.from({ length: MAX_WAITING_CALLS + 3 }, (_, i) =>
        run(handler, id, `print(${i})`, 100 + i).then((answer) => {
          answered.push(textOf(answer));
          return answer;
        }),
      );
      await vi.waitFor(() => expect(answered).toHaveLength(2));
      for (const text of answered) expect(text).toMatch(/already waiting/);
      const tooLong = await run(handler, id, "x".repeat(2048));
      expect(tooLong.messages[0].result.isError).toBe(true);
      expect(textOf(tooLong)).toMatch(/1024-byte limit/);
      open();
      const texts = (await Promise.all(calls)).map(textOf);
      const ran = texts.filter((text) => / run \d+$/.test(text.trim()));
      expect(ran).toHaveLength(MAX_WAITING_CALLS + 1);
      expect(new Set(ran).size).toBe(MAX_WAITING_CALLS + 1);
      // Once they have answered, the session takes calls again.
      expect(textOf(await run(handler, id, "print(1)")).trim()).toMatch(/ run \d+$/);
    } finally {
      await handler.close();
    }
  });

  it("never runs a call cancelled while it waited", async () => {
    const { gate, open } = gated();
    const handler = createHandler({
      runtime: sessionRuntime(gate).runtime,
      mcp: true,
      logger: false,
    });
    try {
      const id = await initialize(handler);
      const first = run(handler, id, "print(1)", 201);
      const cancelled = run(handler, id, "print(2)", 202);
      await rpc(handler, { method: "notifications/cancelled", params: { requestId: 202 } }, id);
      open();
      expect(textOf(await first).trim()).toMatch(/ run 1$/);
      // The cancelled call took no turn in the session (the SDK sends no answer to a request its
      // client cancelled): the next run is its second.
      void cancelled.catch(() => {});
      expect(textOf(await run(handler, id, "print(3)", 203)).trim()).toMatch(/ run 2$/);
    } finally {
      await handler.close();
    }
  });
});

describe("MCP cancelled calls", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("ends a cancelled call's response stream, so the session still ends once idle", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { gate, open } = gated();
    const made = sessionRuntime(gate);
    const handler = createHandler({
      runtime: made.runtime,
      mcp: true,
      sessionIdleTimeoutMs: IDLE_MS,
      logger: false,
    });
    try {
      const id = await initialize(handler);
      const cancelled = run(handler, id, "print(1)", 301);
      await rpc(handler, { method: "notifications/cancelled", params: { requestId: 301 } }, id);
      open();
      // A later call runs once the cancelled one has let go of the session.
      expect(textOf(await run(handler, id, "print(2)", 302)).trim()).toMatch(/ run \d$/);
      await vi.advanceTimersByTimeAsync(IDLE_MS);
      expect((await run(handler, id, "print(3)", 303)).status).toBe(404);
      expect(made.closed).toHaveLength(1);
      // The SDK sends no answer to a cancelled request: its stream ended empty.
      expect((await cancelled).messages).toEqual([]);
    } finally {
      await handler.close();
    }
  });
});
