import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { afterEach, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../src/createHandler";
import { createRouteHandlers } from "../src/next";

const handlers: MechaHandler[] = [];
afterEach(async () => {
  await Promise.all(handlers.splice(0).map((handler) => handler.close()));
});

/** A spawner that records every process the runtime starts. */
function recording() {
  const started: string[] = [];
  const spawn = (command: string, args: readonly string[], options: SpawnOptions) => {
    started.push(command);
    return nodeSpawn(command, args, options);
  };
  return { started, spawn };
}

it("starts no process when created, only on its first request", async () => {
  const { started, spawn } = recording();
  const handler = createHandler({ spawn, logger: false });
  handlers.push(handler);
  expect(started).toEqual([]);
  const response = await handler(new Request("http://localhost/health"));
  expect(response.status).toBe(200);
  expect(started.length).toBeGreaterThan(0);
});

it("starts on ready(), before any request", async () => {
  const { started, spawn } = recording();
  const handler = createHandler({ spawn, logger: false });
  handlers.push(handler);
  await handler.ready();
  expect(started.length).toBeGreaterThan(0);
});

it("creates Next.js route handlers without starting anything (next build imports them)", () => {
  const { started, spawn } = recording();
  const routes = createRouteHandlers({ basePath: "/api/mecha", spawn, logger: false });
  handlers.push(routes.handler);
  expect(Object.keys(routes).sort()).toEqual([
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
    "POST",
    "handler",
  ]);
  expect(started).toEqual([]);
});
