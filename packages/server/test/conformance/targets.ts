import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Problem, type RunEvent, RunEvent as RunEventSchema } from "@mecha/protocol";
import express from "express";
import { expect } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { createRouteHandlers } from "../../src/next";
import { toNodeListener } from "../../src/node";
import type { HandlerOptions } from "../../src/options";

/**
 * One protocol suite, run against every way a host can mount the handler: the bare Fetch
 * handler, Node's http server, Express 5 under a mount path (after express.json()), and the
 * Next.js App Router route handlers.
 */

export type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;

export interface Target {
  name: string;
  setup(
    options: HandlerOptions,
  ): Promise<{ fetch: Fetcher; handler: MechaHandler; close(): Promise<void> }>;
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export const TARGETS: Target[] = [
  {
    name: "fetch handler",
    async setup(options) {
      const handler = createHandler(options);
      return {
        handler,
        fetch: (path, init) => handler(new Request(`http://localhost${path}`, init)),
        close: () => handler.close(),
      };
    },
  },
  {
    name: "node http",
    async setup(options) {
      const handler = createHandler(options);
      const server = createServer(toNodeListener(handler));
      const base = await listen(server);
      return {
        handler,
        fetch: (path, init) => fetch(`${base}${path}`, init),
        close: async () => {
          await closeServer(server);
          await handler.close();
        },
      };
    },
  },
  {
    name: "express 5 mount",
    async setup(options) {
      const handler = createHandler(options);
      const app = express();
      app.use("/api/mecha", toNodeListener(handler));
      app.use(express.json());
      app.get("/", (_req, res) => {
        res.send("host app");
      });
      const server = createServer(app);
      const base = await listen(server);
      return {
        handler,
        fetch: (path, init) => fetch(`${base}/api/mecha${path}`, init),
        close: async () => {
          await closeServer(server);
          await handler.close();
        },
      };
    },
  },
  {
    name: "next route handlers",
    async setup(options) {
      const route = createRouteHandlers({ ...options, basePath: "/api/mecha" });
      const methods = route as unknown as Record<string, (request: Request) => Promise<Response>>;
      return {
        handler: route.handler,
        fetch: (path, init) => {
          const method = (init?.method ?? "GET").toUpperCase();
          const request = new Request(`http://localhost:3000/api/mecha${path}`, init);
          return methods[method]!(request);
        },
        close: () => route.handler.close(),
      };
    },
  },
];

export const json = (body: unknown, extra: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...extra },
  body: JSON.stringify(body),
});

/** Reads an NDJSON run stream, calling `onEvent` as each line arrives. */
export async function readEvents(
  response: Response,
  onEvent: (event: RunEvent, at: number) => void | Promise<void>,
): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    let newline = buffer.indexOf("\n");
    while (newline >= 0) {
      const event = RunEventSchema.parse(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf("\n");
      events.push(event);
      await onEvent(event, performance.now());
    }
  }
  return events;
}

/** Checks a problem response: its status, media type, code and a detail for people. */
export async function expectProblem(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  const problem = Problem.parse(await response.json());
  expect(problem.code).toBe(code);
  expect(problem.status).toBe(status);
  expect(problem.detail.length).toBeGreaterThan(0);
  return problem;
}
