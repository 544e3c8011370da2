/**
 * Requests whose params do not fit the MCP schema, sent by the official client to the handler
 * in-process (a runtime the test drives, no Python): each is refused with JSON-RPC -32602 and a
 * one-line message naming what is wrong, and the session goes on working.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError, ResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { fakeRuntime } from "./support/fakeRuntime";
import { postMcp } from "./support/mcpClient";

describe("MCP requests with params that do not fit", () => {
  let handler: MechaHandler;
  let fake: ReturnType<typeof fakeRuntime>;
  let client: Client;
  beforeEach(async () => {
    fake = fakeRuntime();
    handler = createHandler({ runtime: fake.runtime, mcp: true, maxSessions: 0, logger: false });
    const transport = new StreamableHTTPClientTransport(new URL("http://localhost/mcp"), {
      fetch: (url, init) => handler(new Request(url, init)),
    });
    client = new Client({ name: "mecha-tests", version: "1.0.0" });
    await client.connect(transport);
  });
  afterEach(async () => {
    await client.close();
    await handler.close();
  });

  /** The error a request is answered with. */
  const refusal = (method: string, params?: unknown) =>
    client.request({ method, params } as never, ResultSchema).then(
      () => expect.fail(`${method} was answered, not refused`),
      (error: unknown) => error as McpError,
    );

  it.each([
    [
      "tools/call, arguments a string",
      "tools/call",
      { name: "run_python", arguments: "print(1)" },
      "Invalid params for tools/call: arguments must be an object (got a string).",
    ],
    [
      "tools/call, arguments an array",
      "tools/call",
      { name: "run_python", arguments: ["print(1)"] },
      "Invalid params for tools/call: arguments must be an object (got an array).",
    ],
    [
      "tools/call, arguments null",
      "tools/call",
      { name: "run_python", arguments: null },
      "Invalid params for tools/call: arguments must be an object (got null).",
    ],
    [
      "tools/call, the name a number",
      "tools/call",
      { name: 5, arguments: { code: "1" } },
      "Invalid params for tools/call: name must be a string (got a number).",
    ],
    [
      "tools/call without params",
      "tools/call",
      undefined,
      "Invalid params for tools/call: params must be an object (got nothing).",
    ],
    [
      "tools/list, the cursor a number",
      "tools/list",
      { cursor: 5 },
      "Invalid params for tools/list: cursor must be a string (got a number).",
    ],
    [
      "initialize again, without its fields",
      "initialize",
      {},
      "Invalid params for initialize: protocolVersion must be a string (got nothing); capabilities must be an object (got nothing); clientInfo must be an object (got nothing).",
    ],
  ])("refuses %s with -32602 and one line saying why", async (_, method, params, message) => {
    const error = await refusal(method, params);
    expect(error).toBeInstanceOf(McpError);
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.message).toBe(`MCP error -32602: ${message}`);
    expect(fake.programs).toHaveLength(0);
  });

  it("still answers a method it does not serve as not found, and goes on working", async () => {
    expect((await refusal("resources/list", { cursor: 5 })).code).toBe(ErrorCode.MethodNotFound);
    await refusal("tools/call", { name: "run_python", arguments: "x" });
    const call = client.callTool({ name: "run_python", arguments: { code: "print(1)" } });
    (await fake.started()).end({ stdout: "1\n" });
    expect(await call).toEqual({ content: [{ type: "text", text: "1\n" }] });
  });
});

describe("MCP initialize requests with params that do not fit", () => {
  it("refuses one with -32602 saying why, not as a server not initialized, and opens nothing", async () => {
    const handler = createHandler({ runtime: fakeRuntime().runtime, mcp: true, logger: false });
    try {
      const response = await postMcp(handler, {
        id: 1,
        method: "initialize",
        params: { protocolVersion: 2025, capabilities: {}, clientInfo: { name: "t" } },
      });
      expect(response.status).toBe(400);
      expect(response.headers.get("mcp-session-id")).toBeNull();
      expect(await response.json()).toEqual({
        jsonrpc: "2.0",
        id: 1,
        error: {
          code: ErrorCode.InvalidParams,
          message:
            "Invalid params for initialize: protocolVersion must be a string (got a number); clientInfo.version must be a string (got nothing).",
        },
      });
    } finally {
      await handler.close();
    }
  });
});
