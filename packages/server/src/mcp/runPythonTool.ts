import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import * as z from "zod";
import { VERSION } from "../version";
import type { McpRunner } from "./mcpRunner";

function describeTool(sessions: boolean): string {
  return [
    "Runs Python 3 code in a sandbox (no network; nothing can be installed with pip; standard input is empty) and returns its stdout and stderr, the value of a final expression, the images it showed (matplotlib figures appear by themselves), and, if it failed, the traceback as an error.",
    sessions
      ? "Calls share state like notebook cells: variables, imports and files stay from one call to the next."
      : "Every call is a fresh program: print what you need to see.",
    "Each run has time, memory and output limits.",
  ].join(" ");
}

/**
 * The MCP server of one MCP session: its `run_python` tool (`{ code, sessionId? }`; a null or
 * empty `sessionId` is left out), whose calls `runner` runs. Arguments that do not match the
 * schema are error results (the SDK's check); `arguments` that are not an object at all never
 * reach it (see `checkParams`).
 */
export function createMcpServer(runner: McpRunner, sessions: boolean): McpServer {
  const server = new McpServer({ name: "mecha", title: "Mecha", version: VERSION });
  server.registerTool(
    "run_python",
    {
      title: "Run Python",
      description: describeTool(sessions),
      inputSchema: {
        code: z.string().describe("The Python 3 code to run (a program, or a cell)."),
        // Models often send null (or "") for an optional field they mean to leave out: taken
        // as left out, the schema a model reads still a string.
        sessionId: z
          .preprocess(
            (value) => (value === null || value === "" ? undefined : value),
            z.string().optional(),
          )
          .describe(
            "A Mecha session to run in, when you were given one. Leave it out to run in this conversation's own session.",
          ),
      },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    ({ code, sessionId }, extra) => {
      const request = extra.authInfo?.extra?.request;
      const signals = [extra.signal];
      if (request instanceof Request) signals.push(request.signal);
      return runner.call(code, sessionId, {
        signals,
        ...(request instanceof Request ? { request } : {}),
      });
    },
  );
  return server;
}
