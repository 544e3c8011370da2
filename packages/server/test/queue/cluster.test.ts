/**
 * A deployment as it is run: one redis-server, two `mecha-server --role api` and two `--role
 * runner` processes (real Python, sandbox required), on this machine. Load spread with nothing
 * lost, stdin and cancel through the instance that did not start a run, a stream resumed on the
 * other instance, a runner killed with SIGKILL mid-run, Redis killed and restarted.
 */
import type { RunResult } from "@mecha/protocol";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../hostile/cliServer";
import { eventually, type MechaProcess, startMecha } from "../support/clusterProcesses";
import { get, lines, post, runBody, STREAM } from "../support/http";
import { type RedisServer, redisMissing, startRedis } from "../support/redisServer";

const missing = redisMissing();
if (missing) console.warn(`skipped: ${missing}`);

let redis: RedisServer;
let cli: Awaited<ReturnType<typeof buildCli>>;
let apiA: MechaProcess;
let apiB: MechaProcess;
let runners: MechaProcess[];
const COMMON = ["--sandbox", "required", "--startup", "zygote", "--quiet"];

/** `--role runner`, with a port (for /metrics) or without (it listens on none). */
const runner = (port: boolean) =>
  startMecha(cli.bin, [
    ...COMMON,
    "--redis",
    redis.url,
    "--role",
    "runner",
    "--max-concurrent",
    "4",
    ...(port ? ["--port", "0"] : []),
  ]);

const live = async (url: string, count: number) => {
  const health = await (await get(url, "/health")).json();
  return health.status !== "unavailable" && health.capacity.runners === count ? health : undefined;
};

beforeAll(async () => {
  if (missing) return;
  [redis, cli] = await Promise.all([startRedis(), buildCli()]);
  const api = () =>
    startMecha(cli.bin, [...COMMON, "--port", "0", "--redis", redis.url, "--role", "api"]);
  [apiA, apiB, ...runners] = await Promise.all([api(), api(), runner(true), runner(false)]);
  for (const url of [apiA.url!, apiB.url!]) await eventually(() => live(url, 2), 20_000, "runners");
}, 120_000);

afterAll(async () => {
  await Promise.all([apiA, apiB, ...(runners ?? [])].map((p) => p?.stop(5000)));
  await redis?.stop();
  cli?.remove();
}, 60_000);

const runnerTotal = async (url: string) => {
  const text = await (await get(url, "/metrics")).text();
  return [...text.matchAll(/^mecha_runs_total\{status="[^"]+"\} (\d+)/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
};

describe.skipIf(missing)("a deployment of two API instances and two runners", () => {
  it("runs 300 programs at concurrency 16 across both API instances, none lost or wrong", async () => {
    const results: RunResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 300) {
        const i = next++;
        const url = i % 2 ? apiA.url! : apiB.url!;
        const response = await post(url, "/runs", runBody(`print(${i} * ${i})`));
        results[i] = (await response.json()) as RunResult;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const wrong = results.filter((r, i) => r.status !== "succeeded" || r.stdout !== `${i * i}\n`);
    expect(wrong).toEqual([]);
    expect(new Set(results.map((r) => r.id)).size).toBe(300);
    // Both runners took part: the one with a port counted some, not all.
    const here = await runnerTotal(runners[0]!.url!);
    expect(here).toBeGreaterThan(0);
    expect(here).toBeLessThan(300);
    const metrics = await (await get(apiA.url!, "/metrics")).text();
    expect(metrics).toMatch(/mecha_runs_total\{status="succeeded"\} 150/);
    expect(metrics).toMatch(/mecha_runners 2/);
  }, 180_000);

  it("takes stdin and a cancel through the instance that did not start the run", async () => {
    const code =
      'name = input("name? ")\nprint("hi", name, flush=True)\nimport time\ntime.sleep(30)';
    const stream = lines(await post(apiA.url!, "/runs", runBody(code), STREAM));
    const started = await stream.next();
    expect(started).toMatchObject({ type: "started", seq: 0 });
    const id = started.id as string;
    // Sent as soon as the run is known: it races the program's start on its runner.
    expect((await post(apiB.url!, `/runs/${id}/stdin`, { data: "Ada\n" })).status).toBe(204);
    let stdout = "";
    while (!stdout.includes("hi Ada\n")) {
      const event = await stream.next();
      if (event.type === "stdout") stdout += event.data;
    }
    expect(stdout).toBe("name? hi Ada\n");
    expect((await post(apiB.url!, `/runs/${id}/cancel`, {})).status).toBe(202);
    const rest = await stream.rest();
    expect(rest.at(-1)).toMatchObject({ type: "exit", result: { status: "cancelled" } });
  }, 60_000);

  it("resumes a stream dropped after two events on the other instance, exactly once", async () => {
    const code = "import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.2)";
    const first = lines(await post(apiA.url!, "/runs", runBody(code), STREAM));
    const seen = [await first.next(), await first.next()];
    await first.cancel();
    const id = seen[0]!.id as string;
    const last = seen[1]!.seq as number;
    const resumed = await lines(await get(apiB.url!, `/runs/${id}/events?after=${last}`)).rest();
    const all = [...seen, ...resumed];
    // Each event once, in order (a line may carry several merged chunks, with the last seq).
    const seqs = all.map((event) => event.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    const stdout = all.filter((event) => event.type === "stdout").map((event) => event.data);
    expect(stdout.join("")).toBe("0\n1\n2\n3\n4\n");
    const result = await (await get(apiB.url!, `/runs/${id}`)).json();
    expect(result).toMatchObject({ status: "succeeded", stdout: "0\n1\n2\n3\n4\n" });
  }, 60_000);

  it("ends a SIGKILLed runner's run lost within seconds, never runs it again, and goes on", async () => {
    const code = 'import time\nprint("up", flush=True)\ntime.sleep(60)';
    const stream = lines(await post(apiA.url!, "/runs", runBody(code), STREAM));
    const id = (await stream.next()).id as string;
    let up = "";
    while (up !== "up\n") up += (await stream.next()).data;
    const client = new Redis(redis.url);
    const holder = await client.hget(`mecha:run:{${id}}`, "runner");
    client.disconnect();
    const victim = runners.find((p) => holder?.includes(`-${p.child.pid}-`))!;
    const survivor = runners.find((p) => p !== victim)!;
    await victim.kill();
    const killedAt = performance.now();
    const exit = await stream.next();
    const lostAfter = performance.now() - killedAt;
    expect(exit).toMatchObject({
      type: "exit",
      result: { status: "lost", stdout: "up\n", error: { type: "RunnerLost" } },
    });
    expect(lostAfter).toBeLessThan(40_000);
    console.log(`a SIGKILLed runner's run ended lost ${Math.round(lostAfter)} ms after the kill`);
    await eventually(() => live(apiB.url!, 1), 20_000, "one runner left");
    const after = await (await post(apiB.url!, "/runs", runBody("print(7)"))).json();
    expect(after).toMatchObject({ status: "succeeded", stdout: "7\n" });
    // Never executed twice: its stream holds one start, and nobody else started it.
    const events = await lines(await get(apiB.url!, `/runs/${id}/events`)).rest();
    expect(events.filter((event) => event.type === "started")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "exit", result: { status: "lost" } });
    runners = [survivor];
  }, 90_000);

  it("answers 503 within 5 s of Redis dying, and runs again within 20 s of its restart", async () => {
    await redis.kill();
    const killedAt = performance.now();
    for (const url of [apiA.url!, apiB.url!]) {
      await eventually(
        async () => ((await get(url, "/health")).status === 503 ? true : undefined),
        5000,
        "503 from /health",
      );
      const refused = await post(url, "/runs", runBody());
      expect(refused.status).toBe(503);
    }
    expect(performance.now() - killedAt).toBeLessThan(5000);
    await redis.restart();
    const restartedAt = performance.now();
    for (const url of [apiA.url!, apiB.url!]) {
      const result = await eventually(
        async () => {
          const response = await post(url, "/runs", runBody("print('back')"));
          return response.status === 200 ? ((await response.json()) as RunResult) : undefined;
        },
        20_000,
        "a run after Redis restarted",
      );
      expect(result).toMatchObject({ status: "succeeded", stdout: "back\n" });
    }
    const recovered = performance.now() - restartedAt;
    expect(recovered).toBeLessThan(20_000);
    console.log(`runs worked again ${Math.round(recovered)} ms after Redis restarted`);
  }, 60_000);
});
