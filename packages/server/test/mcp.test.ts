/**
 * The MCP server (`createHandler({ mcp: true })`, served by the Node adapter) against the
 * official SDK's client over Streamable HTTP, running real Python in the sandbox.
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { toNodeListener } from "../src/node";
import { findBwrap } from "../src/runtime/sandbox";
import { post } from "./support/http";
import { type Content, connectMcp, type McpConnection, textOf } from "./support/mcpClient";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;
if (!hasBwrap) console.warn("SKIPPED: the MCP suite runs Python in bubblewrap, not found here.");

/** A handler listening on a free port; `x-user` names the principal, as a host's login would. */
async function listen(options: Parameters<typeof createHandler>[0]) {
  const handler = createHandler({
    sandbox: "required",
    logger: false,
    mcp: true,
    authorize: (request) => request.headers.get("x-user") ?? true,
    ...options,
  });
  const server = createServer(toNodeListener(handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { handler, server, url: `http://127.0.0.1:${port}` };
}

async function stop(handler: MechaHandler, server: Server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await handler.close();
}

/** An error result whose text says each of `parts`. */
function expectError(result: { content: Content[]; isError?: boolean }, ...parts: string[]) {
  expect(result.isError, textOf(result)).toBe(true);
  for (const part of parts) expect(textOf(result)).toContain(part);
}

const openSessions = async (handler: MechaHandler) =>
  (await handler.health()).capacity.sessions ?? 0;

describe.skipIf(!hasBwrap)("MCP at /mcp", { timeout: 60_000 }, () => {
  let handler: MechaHandler;
  let server: Server;
  let url: string;
  let mcp: McpConnection;
  beforeAll(async () => {
    ({ handler, server, url } = await listen({}));
    mcp = await connectMcp(url);
  });
  afterAll(async () => {
    await mcp.close().catch(() => {});
    await stop(handler, server);
  });

  it("lists run_python with its input schema, and says mcp is on in /health", async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["run_python"]);
    const schema = tools[0]!.inputSchema;
    expect(schema.properties).toMatchObject({
      code: { type: "string" },
      sessionId: { type: "string" },
    });
    expect(schema.required).toEqual(["code"]);
    expect(tools[0]!.description).toMatch(/share state/);
    expect((await handler.health()).features).toContain("mcp");
  });

  it("runs print(6 * 7) and answers 42 as text", async () => {
    const result = await mcp.run("print(6 * 7)");
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "42\n" }]);
  });

  it("keeps state between calls, and shows a final expression's value", async () => {
    expect(textOf(await mcp.run("x = 5"))).toBe("(no output)");
    const result = await mcp.run("x * 2");
    expect(result.isError).toBeFalsy();
    expect(result.content).toEqual([{ type: "text", text: "10" }]);
  });

  it("answers an exception as an error result with the traceback, the state kept", async () => {
    expectError(
      await mcp.run("print('before')\n1/0"),
      "before\n",
      "Traceback (most recent call last)",
      "ZeroDivisionError: division by zero (line 2)",
      "state (variables, imports, files) is kept",
    );
    expect(textOf(await mcp.run("x"))).toBe("5");
  });

  it("labels stdout and stderr when a run writes both", async () => {
    const result = await mcp.run("import sys\nprint('out')\nprint('err', file=sys.stderr)");
    expect(result.content).toEqual([
      { type: "text", text: "stdout:\nout\n" },
      { type: "text", text: "stderr:\nerr\n" },
    ]);
  });

  it("sends a matplotlib plot as image content", async () => {
    const result = await mcp.run(
      "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('t')\nplt.show()",
    );
    expect(result.isError, textOf(result)).toBeFalsy();
    const images = result.content.filter((part) => part.type === "image");
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ mimeType: "image/png" });
    const png = Buffer.from((images[0] as { data: string }).data, "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });

  it("answers invalid arguments and unknown tools with errors, and goes on working", async () => {
    for (const args of [{}, { code: 5 }, { code: "1", sessionId: 7 }]) {
      const result = await mcp.call("run_python", args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result)).toMatch(/Invalid arguments for tool run_python/);
    }
    const unknown = await mcp.call("run_ruby", { code: "1" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/Tool run_ruby not found/);
    const garbled = await post(url, "/mcp", "{not json", {
      accept: "application/json, text/event-stream",
    });
    expect(garbled.status).toBe(400);
    expect(textOf(await mcp.run("print('still here')"))).toBe("still here\n");
  });

  it("runs in a session named by sessionId, and says so when there is no such session", async () => {
    const opened = await post(url, "/sessions", { language: "python" });
    const { id } = (await opened.json()) as { id: string };
    await post(url, `/sessions/${id}/runs`, { code: "y = 3" });
    expect(textOf(await mcp.run("y * 2", { sessionId: id }))).toBe("6");
    // Its own session is another one, also where a sessionId a model sent as null or "" runs.
    expect(textOf(await mcp.run("y"))).toContain("NameError");
    for (const sessionId of [null, ""]) {
      const own = await mcp.call("run_python", { code: "x", sessionId });
      expect(own.isError, textOf(own)).toBeFalsy();
      expect(textOf(own)).toBe("5");
    }
    const unknown = await mcp.run("1", { sessionId: "ses_nope" });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/No session ses_nope/);
  });

  it("reports a session whose interpreter ended, and starts a new one on the next call", async () => {
    await mcp.run("z = 1");
    const lost = await mcp.run("import os\nos._exit(3)");
    expect(lost.isError).toBe(true);
    expect(textOf(lost)).toMatch(/session ended with it.*next call starts a new session/);
    expectError(
      await mcp.run("print('fresh')\nz"),
      "fresh\n",
      "NameError: name 'z' is not defined",
    );
  });

  it("closes its Mecha session when the client ends the MCP session", async () => {
    const other = await connectMcp(url);
    const before = await openSessions(handler);
    await other.run("a = 1");
    expect(await openSessions(handler)).toBe(before + 1);
    await other.close();
    expect(await openSessions(handler)).toBe(before);
  });

  it("keeps each principal's MCP sessions to itself", async () => {
    const alice = await connectMcp(url, { "x-user": "alice" });
    await alice.run("secret = 1");
    const sessionId = alice.transport.sessionId!;
    const asBob = await fetch(`${url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-06-18",
        "x-user": "bob",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "run_python", arguments: { code: "secret" } },
      }),
    });
    expect(asBob.status).toBe(404);
    expect(await asBob.text()).not.toContain("secret");
    await alice.close();
  });
});

describe.skipIf(!hasBwrap)("MCP with sessions off", { timeout: 60_000 }, () => {
  it("runs each call as a program of its own", async () => {
    const { handler, server, url } = await listen({ maxSessions: 0 });
    try {
      const mcp = await connectMcp(url);
      const { tools } = await mcp.client.listTools();
      expect(tools[0]!.description).toMatch(/fresh program/);
      expect(textOf(await mcp.run("print(6 * 7)"))).toBe("42\n");
      await mcp.run("x = 5");
      expectError(await mcp.run("print(x)"), "NameError");
      const named = await mcp.run("1", { sessionId: "ses_any" });
      expect(textOf(named)).toMatch(/Sessions are off on this server/);
      await mcp.close();
    } finally {
      await stop(handler, server);
    }
  });
});

describe.skipIf(!hasBwrap)("MCP and the time limit", { timeout: 60_000 }, () => {
  it("reports a run stopped at its time limit as an error, the session's state kept", async () => {
    const { handler, server, url } = await listen({ defaultLimits: { timeoutMs: 1000 } });
    try {
      const mcp = await connectMcp(url);
      await mcp.run("n = 7");
      expectError(
        await mcp.run("print('spinning')\nwhile True: pass"),
        "spinning\n",
        "KeyboardInterrupt",
        "The run was stopped at its time limit of 1 s.",
        "state (variables, imports, files) is kept",
      );
      expect(textOf(await mcp.run("n"))).toBe("7");
      await mcp.close();
    } finally {
      await stop(handler, server);
    }
  });
});

describe("MCP off", () => {
  it("is not served, and not listed in /health's features", async () => {
    const handler = createHandler({ logger: false });
    const response = await post(handler, "/mcp", { jsonrpc: "2.0", id: 1, method: "ping" });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/--mcp/);
    expect((await handler.health()).features).not.toContain("mcp");
    await handler.close();
  });
});
