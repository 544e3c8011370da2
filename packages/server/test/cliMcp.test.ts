/**
 * `mecha-server --mcp`: the flag, and the built CLI serving MCP behind its token and Host check,
 * used by the official SDK's client.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELP, parseCommand } from "../src/cliArguments";
import { findBwrap } from "../src/runtime/sandbox";
import { type CliServer, serveCli } from "./hostile/cliServer";
import { connectMcp, textOf } from "./support/mcpClient";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;
if (!hasBwrap)
  console.warn("SKIPPED: mecha-server --mcp is tested with bubblewrap, not found here.");

const TOKEN = "mcp-test-token";
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "1" },
  },
});

/** POST /mcp with any Host header (fetch would not send one of our choosing). */
function rawPost(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/mcp`,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.on("error", reject);
    outgoing.end(INITIALIZE);
  });
}

describe("mecha-server --mcp flag", () => {
  it("turns MCP on, off by default, and is in --help", () => {
    const options = (argv: string[]) => {
      const command = parseCommand(argv);
      if (command.kind !== "serve") throw new Error("not serve");
      return command.options;
    };
    expect(options(["--mcp"]).mcp).toBe(true);
    expect(options([]).mcp).toBeUndefined();
    expect(HELP).toMatch(/--mcp\s+Serve the Model Context Protocol at \/mcp/);
  });
});

describe.skipIf(!hasBwrap)("mecha-server --mcp", { timeout: 120_000 }, () => {
  let server: CliServer & { close(): Promise<void> };
  beforeAll(async () => {
    server = await serveCli("zygote", ["--mcp"], {}, "required", { MECHA_TOKEN: TOKEN });
  }, 120_000);
  afterAll(() => server?.close());

  it("prints where MCP is served", () => {
    expect(server.output()).toContain(`MCP: ${server.url}/mcp`);
  });

  it("refuses a client without the token (401) or from another Host (403)", async () => {
    expect(await rawPost(server.url, {})).toBe(401);
    expect(await rawPost(server.url, { authorization: "Bearer wrong" })).toBe(401);
    expect(
      await rawPost(server.url, { authorization: `Bearer ${TOKEN}`, host: "evil.example" }),
    ).toBe(403);
    await expect(connectMcp(server.url)).rejects.toThrow(/401/);
  });

  it("serves the official client with the token: the tool, 42, state, and a ZeroDivisionError", async () => {
    const mcp = await connectMcp(server.url, { authorization: `Bearer ${TOKEN}` });
    try {
      const { tools } = await mcp.client.listTools();
      expect(tools.map((tool) => tool.name)).toEqual(["run_python"]);
      expect(tools[0]!.inputSchema.required).toEqual(["code"]);
      expect(await mcp.run("print(6 * 7)")).toEqual({
        content: [{ type: "text", text: "42\n" }],
      });
      await mcp.run("import math\nr = 2");
      expect(textOf(await mcp.run("round(math.pi * r ** 2, 2)"))).toBe("12.57");
      const failed = await mcp.run("1/0");
      expect(failed.isError).toBe(true);
      expect(textOf(failed)).toMatch(/ZeroDivisionError: division by zero/);
      const health = await fetch(`${server.url}/health`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      const body = (await health.json()) as { features: string[]; capacity: { sessions: number } };
      expect(body.features).toContain("mcp");
      expect(body.capacity.sessions).toBe(1);
    } finally {
      await mcp.close();
    }
    const after = await fetch(`${server.url}/health`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await after.json()) as { capacity: { sessions: number } }).capacity.sessions).toBe(0);
  });
});
