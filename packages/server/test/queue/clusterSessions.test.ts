/**
 * Sessions in a deployment as it is run: one redis-server, two `mecha-server --role api` and
 * two `--role runner` processes (real Python, sandbox required) on this machine. A session keeps
 * its state through runs on either instance, takes stdin and a cancel through the other one,
 * refuses a second run across instances, is read and deleted through the other; each runner's
 * maximum holds; an MCP client's calls share a session; a runner killed with SIGKILL loses its
 * session (its run `lost`, the next 410) while a session on the other runner goes on.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../hostile/cliServer";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "../sessions/api";
import { eventually, type MechaProcess, startMecha } from "../support/clusterProcesses";
import { get } from "../support/http";
import { connectMcp, textOf } from "../support/mcpClient";
import { type RedisServer, redisMissing, startRedis } from "../support/redisServer";

const missing = redisMissing() ?? (hasBwrap ? null : "bubblewrap is not installed");
if (missing) console.warn(`skipped: ${missing}`);

let redis: RedisServer;
let cli: Awaited<ReturnType<typeof buildCli>>;
let apiA: MechaProcess;
let apiB: MechaProcess;
let runners: MechaProcess[];
const COMMON = ["--sandbox", "required", "--startup", "zygote", "--quiet"];
const MAX_SESSIONS = 2;

beforeAll(async () => {
  if (missing) return;
  [redis, cli] = await Promise.all([startRedis(), buildCli()]);
  const role = (name: string, extra: string[]) =>
    startMecha(cli.bin, [...COMMON, "--redis", redis.url, "--role", name, ...extra]);
  const runner = () =>
    role("runner", ["--max-concurrent", "2", "--max-sessions", String(MAX_SESSIONS)]);
  [apiA, apiB, ...runners] = await Promise.all([
    role("api", ["--port", "0", "--mcp"]),
    role("api", ["--port", "0"]),
    runner(),
    runner(),
  ]);
  for (const url of [apiA.url!, apiB.url!]) {
    await eventually(
      async () => {
        const health = await (await get(url, "/health")).json();
        return health.capacity.runners === 2 && health.capacity.maxSessions === 4
          ? true
          : undefined;
      },
      20_000,
      "two runners holding sessions",
    );
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([apiA, apiB, ...(runners ?? [])].map((p) => p?.stop(5000)));
  await redis?.stop();
  cli?.remove();
}, 60_000);

/** The session routes of a server at `url`, as a client calls them. */
function over(url: string): SessionApi {
  return new SessionApi(async (request) => {
    const { pathname, search } = new URL(request.url);
    const body =
      request.method === "GET" || request.method === "DELETE" ? undefined : await request.text();
    return fetch(`${url}${pathname}${search}`, {
      method: request.method,
      headers: request.headers,
      ...(body === undefined ? {} : { body }),
    });
  });
}

/** Which runner process holds session `id`. */
async function holderOf(id: string): Promise<MechaProcess> {
  const client = new Redis(redis.url);
  const runner = await client.hget(`mecha:session:{${id}}`, "runner");
  client.disconnect();
  return runners.find((p) => runner?.includes(`-${p.child.pid}-`))!;
}

describe.skipIf(missing)("sessions in a deployment of two API instances and two runners", () => {
  it("keeps a session's state through runs on both instances, with stdin, cancel, files and DELETE through the other", async () => {
    const onA = over(apiA.url!);
    const onB = over(apiB.url!);
    const id = await onA.open();
    await onA.ok(id, "import math\nx = 41");
    const shown = await onB.ok(id, "math.floor(x + 1.5)");
    expect(shown.displays?.[0]?.data["text/plain"]).toBe("42");
    await onA.ok(id, "open('out.txt', 'w').write('from the session')");
    const file = await onB.file(id, "out.txt");
    expect(file.status).toBe(200);
    expect(await file.text()).toBe("from the session");

    const asking = await onB.stream(id, "name = input('name? ')\nprint('hi', name)");
    await asking.untilInput();
    expect((await onA.request("POST", `/runs/${asking.id}/stdin`, { data: "Ada\n" })).status).toBe(
      204,
    );
    expect(await asking.finished()).toMatchObject({
      status: "succeeded",
      stdout: "name? hi Ada\n",
    });

    const looping = await onA.stream(
      id,
      "import time\nprint('go', flush=True)\nwhile True:\n    time.sleep(0.05)",
    );
    await looping.untilStdout("go");
    const second = await onB.post(id, { code: "print(1)" });
    expect(second.status).toBe(409);
    expect((await problemOf(second)).code).toBe("session_busy");
    expect((await onB.request("POST", `/runs/${looping.id}/cancel`)).status).toBe(202);
    expect(await looping.finished()).toMatchObject({
      status: "cancelled",
      session: { id, state: "kept" },
    });
    expect((await onB.ok(id, "print(x, name)")).stdout).toBe("41 Ada\n");

    expect((await onB.delete(id)).status).toBe(204);
    expect((await onA.get(`/sessions/${id}`)).status).toBe(404);
  }, 90_000);

  it("opens sessions where there is room, up to each runner's maximum, then 503 busy", async () => {
    const onA = over(apiA.url!);
    const onB = over(apiB.url!);
    const opened: string[] = [];
    for (let i = 0; i < 2 * MAX_SESSIONS; i++) opened.push(await (i % 2 ? onB : onA).open());
    const holders = await Promise.all(opened.map(holderOf));
    for (const runner of runners) {
      expect(holders.filter((holder) => holder === runner)).toHaveLength(MAX_SESSIONS);
    }
    const refused = await onB.create();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect((await problemOf(refused)).code).toBe("busy");
    for (const id of opened) expect((await onA.delete(id)).status).toBe(204);
  }, 90_000);

  it("runs an MCP client's calls in one session held by a runner", async () => {
    const mcp = await connectMcp(apiA.url!);
    try {
      expect((await mcp.run("x = 6")).isError).toBeFalsy();
      const result = await mcp.run("print(x * 7)");
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toContain("42");
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("loses the session of a runner killed with SIGKILL — its run ends lost, its next run is 410 — while the other runner's session goes on", async () => {
    const onA = over(apiA.url!);
    const onB = over(apiB.url!);
    const first = await onA.open();
    const second = await onB.open();
    const victim = await holderOf(first);
    expect(await holderOf(second)).not.toBe(victim);
    await onA.ok(first, "x = 1");
    await onA.ok(second, "x = 2");
    const doomed = await onA.stream(first, "import time\nprint('up', flush=True)\ntime.sleep(60)");
    await doomed.untilStdout("up\n");
    await victim.kill();
    const killedAt = performance.now();
    const result = await doomed.finished();
    const lostAfter = performance.now() - killedAt;
    expect(result).toMatchObject({
      status: "lost",
      stdout: "up\n",
      error: { type: "RunnerLost" },
      session: { id: first, state: "lost" },
    });
    expect(lostAfter).toBeLessThan(40_000);
    console.log(
      `a SIGKILLed runner's session run ended lost ${Math.round(lostAfter)} ms after the kill`,
    );
    const next = await onB.post(first, { code: "print(x)" });
    expect(next.status).toBe(410);
    expect((await problemOf(next)).detail).toMatch(/runner that held it went away/);
    expect((await onB.describe(first)).state).toBe("lost");
    expect((await onB.ok(second, "print(x)")).stdout).toBe("2\n");
    runners = runners.filter((runner) => runner !== victim);
  }, 90_000);
});
