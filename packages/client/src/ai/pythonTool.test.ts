import { generateText, stepCountIs } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { HttpResponse, http } from "msw";
import { describe, expect, it } from "vitest";
import {
  healthDown,
  healthy,
  NDJSON,
  problemResponse,
  useClientHarness,
} from "../../test/clientHarness";
import { BASE, ndjson, runResult } from "../../test/fixtures";
import { MOCK_NOTICE } from "../mockBackend";
import { pythonTool } from "./pythonTool";

/**
 * The AI SDK tool, driven by the SDK's own mock model through generateText's agent loop; the
 * runs go to msw answering as the server does.
 */
const { server, makeClient } = useClientHarness();

type Prompt = Parameters<MockLanguageModelV3["doGenerate"]>[0]["prompt"];

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};
const callTool = (id: string, input: object) => ({
  content: [
    {
      type: "tool-call" as const,
      toolCallId: id,
      toolName: "python",
      input: JSON.stringify(input),
    },
  ],
  finishReason: { unified: "tool-calls" as const, raw: undefined },
  usage,
  warnings: [],
});
const answer = (text: string) => ({
  content: [{ type: "text" as const, text }],
  finishReason: { unified: "stop" as const, raw: undefined },
  usage,
  warnings: [],
});

/** The output of the last tool result the model was sent. */
function lastToolOutput(prompt: Prompt) {
  const results = prompt.flatMap((message) =>
    message.role === "tool" ? message.content.filter((part) => part.type === "tool-result") : [],
  );
  return results.at(-1)?.output;
}
const textOf = (output: ReturnType<typeof lastToolOutput>) =>
  output?.type === "text"
    ? output.value
    : output?.type === "content"
      ? output.value.map((part) => (part.type === "text" ? part.text : "")).join("")
      : "";

const TRACEBACK =
  'Traceback (most recent call last):\n  File "/work/main.py", line 2, in <module>\n    print(total / count)\nZeroDivisionError: division by zero\n';

/** POST /runs as the server answers: dividing by zero fails, anything else prints 5.0. */
function pythonServer(codes: string[]) {
  return http.post(`${BASE}/runs`, async ({ request }) => {
    const { code } = (await request.json()) as { code: string };
    codes.push(code);
    const result = code.includes("count = 0")
      ? runResult({
          status: "failed",
          exitCode: 1,
          stderr: TRACEBACK,
          error: {
            type: "ZeroDivisionError",
            message: "division by zero",
            line: 2,
            traceback: TRACEBACK,
          },
        })
      : runResult({ stdout: "5.0\n" });
    return new HttpResponse(
      ndjson([
        { type: "started", seq: 0, id: "run_1" },
        ...(result.stdout ? [{ type: "stdout", seq: 1, data: result.stdout }] : []),
        ...(result.stderr ? [{ type: "stderr", seq: 1, data: result.stderr }] : []),
        { type: "exit", seq: 2, result },
      ]),
      { headers: NDJSON },
    );
  });
}

describe("pythonTool in an agent loop", () => {
  it("hands a failing program's traceback to the model, which fixes its code on the next call", async () => {
    const codes: string[] = [];
    server.use(healthy(), pythonServer(codes));
    const seen: string[] = [];
    let calls = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt }) => {
        calls++;
        if (calls === 1)
          return callTool("call_1", { code: "total = 10\ncount = 0\nprint(total / count)" });
        seen.push(textOf(lastToolOutput(prompt)));
        if (calls === 2)
          return callTool("call_2", { code: "total = 10\ncount = 2\nprint(total / count)" });
        return answer("The mean is 5.0.");
      },
    });
    const result = await generateText({
      model,
      tools: { python: pythonTool({ client: makeClient() }) },
      stopWhen: stepCountIs(5),
      prompt: "What is the mean? Use Python.",
    });
    expect(result.text).toBe("The mean is 5.0.");
    expect(result.steps).toHaveLength(3);
    expect(codes).toHaveLength(2);
    expect(seen[0]).toContain("status: failed");
    expect(seen[0]).toContain("error: ZeroDivisionError: division by zero (line 2)");
    expect(seen[0]).toContain("print(total / count)");
    expect(seen[1]).toContain("status: succeeded\nstdout:\n5.0\n");
    const first = result.steps[0]!.toolResults[0]!;
    expect(first.output).toMatchObject({
      status: "failed",
      backend: "server",
      error: { type: "ZeroDivisionError", line: 2 },
      images: [],
    });
  });

  it("tells the model the input schema: code, described, and no session without sessions", async () => {
    server.use(healthy(), pythonServer([]));
    const model = new MockLanguageModelV3({ doGenerate: async () => answer("ok") });
    await generateText({
      model,
      tools: { python: pythonTool({ client: makeClient() }) },
      prompt: "hi",
    });
    const [python] = model.doGenerateCalls[0]!.tools ?? [];
    expect(python).toMatchObject({
      type: "function",
      name: "python",
      description: expect.stringContaining("Python 3"),
      inputSchema: {
        type: "object",
        properties: { code: { type: "string", description: expect.stringContaining("Python") } },
        required: ["code"],
      },
    });
    expect(
      Object.keys((python as { inputSchema: { properties: object } }).inputSchema.properties),
    ).toEqual(["code"]);
  });

  it("sends the images a program showed as images, after the text", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUg==";
    server.use(
      healthy(),
      http.post(
        `${BASE}/runs`,
        () =>
          new HttpResponse(
            ndjson([
              { type: "started", seq: 0, id: "run_1" },
              { type: "display", seq: 1, data: { "text/plain": "<Figure>", "image/png": png } },
              { type: "display", seq: 2, data: { "text/plain": "   a\n0  1" } },
              {
                type: "exit",
                seq: 3,
                result: runResult({
                  displays: [
                    { data: { "text/plain": "<Figure>", "image/png": png } },
                    { data: { "text/plain": "   a\n0  1" } },
                  ],
                }),
              },
            ]),
            { headers: NDJSON },
          ),
      ),
    );
    let output: ReturnType<typeof lastToolOutput>;
    let calls = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt }) => {
        if (++calls === 1) return callTool("c1", { code: "plt.plot([1, 2]); plt.show()" });
        output = lastToolOutput(prompt);
        return answer("Here is the plot.");
      },
    });
    await generateText({
      model,
      tools: { python: pythonTool({ client: makeClient() }) },
      stopWhen: stepCountIs(3),
      prompt: "Plot it.",
    });
    expect(output?.type).toBe("content");
    const parts = output?.type === "content" ? output.value : [];
    expect(parts.map((part) => part.type)).toEqual(["text", "image-data"]);
    expect(parts[1]).toMatchObject({ data: png, mediaType: "image/png" });
    expect(textOf(output)).toContain("display:\n   a\n0  1");
    expect(textOf(output)).toContain("images: 1 (image/png), attached below");
  });
});

describe("pythonTool with a session", () => {
  const sessionRun = (stdout: string) =>
    new HttpResponse(
      ndjson([
        { type: "started", seq: 0, id: `r_${stdout.trim()}` },
        { type: "stdout", seq: 1, data: stdout },
        {
          type: "exit",
          seq: 2,
          result: runResult({ stdout, session: { id: "s1", state: "kept" } }),
        },
      ]),
      { headers: NDJSON },
    );
  /** The server's handlers: session s1 opened, each of its runs answered by `run` (its code). */
  const sessionS1 = (run: (code: string) => Response | Promise<Response>) => [
    healthy(),
    http.post(`${BASE}/sessions`, () =>
      HttpResponse.json({ id: "s1", expiresAt: "2030-01-01T00:10:00Z" }, { status: 201 }),
    ),
    http.post(`${BASE}/sessions/s1/runs`, async ({ request }) =>
      run(((await request.json()) as { code: string }).code),
    ),
  ];

  it("runs every call in one session, and names it to the model", async () => {
    const opened: unknown[] = [];
    const runs: string[] = [];
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, async ({ request }) => {
        opened.push(await request.json());
        return HttpResponse.json({ id: "s1", expiresAt: "2030-01-01T00:10:00Z" }, { status: 201 });
      }),
      http.post(`${BASE}/sessions/s1/runs`, async ({ request }) => {
        const { code } = (await request.json()) as { code: string };
        runs.push(code);
        return sessionRun(runs.length === 1 ? "\n" : "41\n");
      }),
    );
    const tool = pythonTool({ client: makeClient(), session: true, limits: { timeoutMs: 5000 } });
    const call = (code: string, sessionId?: string) =>
      tool.execute!({ code, sessionId }, { toolCallId: "c", messages: [] });
    const first = await call("x = 41");
    const second = await call("print(x)", "s1");
    expect(opened).toEqual([{ language: "python", limits: { timeoutMs: 5000 } }]);
    expect(runs).toEqual(["x = 41", "print(x)"]);
    expect(first).toMatchObject({ sessionId: "s1" });
    expect(second).toMatchObject({ sessionId: "s1", stdout: "41\n" });
    await expect(call("x", "s9")).rejects.toThrow(/There is no session "s9"/);
  });

  it("takes a sessionId the model sent as null or empty for one it left out", async () => {
    server.use(...sessionS1((code) => sessionRun(`${code}\n`)));
    let calls = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        calls++;
        if (calls === 1) return callTool("a", { code: "x = 1", sessionId: null });
        if (calls === 2) return callTool("b", { code: "x + 1", sessionId: "" });
        return answer("2");
      },
    });
    const result = await generateText({
      model,
      tools: { python: pythonTool({ client: makeClient(), session: true }) },
      stopWhen: stepCountIs(3),
      prompt: "Add one.",
    });
    expect(
      result.steps.flatMap((step) => step.toolResults.map((part) => part.output)),
    ).toMatchObject([
      { status: "succeeded", stdout: "x = 1\n", sessionId: "s1" },
      { status: "succeeded", stdout: "x + 1\n", sessionId: "s1" },
    ]);
  });

  it("runs calls the model sends at once one after another in its session, in order", async () => {
    // The session runs one program at a time, as the server's does: a run while one runs is 409.
    const runs: string[] = [];
    let running = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.use(
      ...sessionS1(async (code) => {
        if (running) return problemResponse("session_busy", 409);
        running = true;
        runs.push(code);
        if (runs.length === 1) await released;
        running = false;
        return sessionRun(`${code}\n`);
      }),
    );
    const python = pythonTool({ client: makeClient(), session: true });
    const execute = python.execute!;
    let executed = 0;
    // The first run answers once the model's last call has been handed to the tool.
    python.execute = (input, options) => {
      if (++executed === 3) release();
      return execute(input, options);
    };
    let calls = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async () =>
        ++calls === 1
          ? {
              ...callTool("a", { code: "x = 1" }),
              content: ["x = 1", "y = 2", "x + y"].map((code, i) => ({
                type: "tool-call" as const,
                toolCallId: `c${i}`,
                toolName: "python",
                input: JSON.stringify({ code }),
              })),
            }
          : answer("3"),
    });
    const result = await generateText({
      model,
      tools: { python },
      stopWhen: stepCountIs(3),
      prompt: "Add them.",
    });
    expect(result.steps[0]!.toolResults.map((part) => part.output)).toMatchObject([
      { status: "succeeded", stdout: "x = 1\n", sessionId: "s1" },
      { status: "succeeded", stdout: "y = 2\n", sessionId: "s1" },
      { status: "succeeded", stdout: "x + y\n", sessionId: "s1" },
    ]);
    expect(runs).toEqual(["x = 1", "y = 2", "x + y"]);
  });

  it("never runs a call aborted while it waited for the one before it", async () => {
    const runs: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.use(
      ...sessionS1(async (code) => {
        runs.push(code);
        await released;
        return sessionRun(`${code}\n`);
      }),
    );
    const python = pythonTool({ client: makeClient(), session: true });
    const aborted = new AbortController();
    const first = python.execute!({ code: "a" }, { toolCallId: "c1", messages: [] });
    const second = python.execute!(
      { code: "b" },
      { toolCallId: "c2", messages: [], abortSignal: aborted.signal },
    );
    aborted.abort(new Error("the user stopped it"));
    release();
    await expect(second).rejects.toThrow("the user stopped it");
    expect(await first).toMatchObject({ stdout: "a\n" });
    expect(runs).toEqual(["a"]);
  });

  it("opens a new session when its session was lost, and says so", async () => {
    let sessions = 0;
    server.use(
      healthy(),
      http.post(`${BASE}/sessions`, () =>
        HttpResponse.json(
          { id: `s${++sessions}`, expiresAt: "2030-01-01T00:10:00Z" },
          { status: 201 },
        ),
      ),
      http.post(`${BASE}/sessions/s1/runs`, () => problemResponse("session_lost", 410)),
      http.post(`${BASE}/sessions/s2/runs`, () => sessionRun("again\n")),
    );
    const tool = pythonTool({ client: makeClient(), session: true });
    const output = await tool.execute!(
      { code: "print('again')" },
      { toolCallId: "c", messages: [] },
    );
    expect(output).toMatchObject({ sessionId: "s2", stdout: "again\n" });
    expect((output as { stderr: string }).stderr).toMatch(/previous session was lost/);
  });
});

describe("pythonTool when nothing could run the code", () => {
  it("says plainly that a mock result was not run", async () => {
    server.use(
      healthDown(),
      http.post(`${BASE}/runs`, () => HttpResponse.error()),
    );
    const tool = pythonTool({ client: makeClient({ fallback: "mock", retry: { limit: 0 } }) });
    const output = await tool.execute!({ code: 'print("hi")' }, { toolCallId: "c", messages: [] });
    expect(output).toMatchObject({ backend: "mock", stdout: `${MOCK_NOTICE}hi\n` });
    const sent = await tool.toModelOutput!({
      toolCallId: "c",
      input: { code: "" },
      output: output as never,
    });
    expect(sent).toMatchObject({ type: "text", value: expect.stringContaining("NOT run") });
  });
});
