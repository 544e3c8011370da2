// The scale-out section: what the Redis path costs per run against the in-process server, and
// the throughput of one runner process against two. Every process of a deployment (redis-server,
// the API instance, each runner with its zygote and runs) is in a CPU accounting group of its
// own; a deployment's CPU per request is their sum.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load, merge, problems } from "./load.mjs";
import { withCpuAccounting } from "./proc.mjs";
import { startServer, stopServer } from "./processes.mjs";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Why this section cannot run here, or null. */
export function scaleOutUnavailable() {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return probe.status === 0
    ? null
    : "redis-server is not installed (apt-get install -y redis-server): no scale-out section";
}

/** Several started processes seen as one target: CPU summed over their groups. */
function composite(handles, front) {
  const groups = handles.map((h) => h.group).filter(Boolean);
  return {
    pid: front.pid,
    port: front.port,
    group:
      groups.length === handles.length
        ? {
            usage() {
              const all = groups.map((g) => g.usage());
              if (all.some((u) => u === null)) return null;
              const sum = (key) => all.reduce((t, u) => t + u[key], 0);
              return { totalMs: sum("totalMs"), userMs: sum("userMs"), sysMs: sum("sysMs") };
            },
          }
        : null,
  };
}

/**
 * Starts one configuration: `in-process` (one mecha-server), or Redis with `runners` runner
 * processes behind one API instance. Returns { handles, front } (front: where requests go).
 */
async function deploy(config, { bin, env, cwd }) {
  const mecha = (name, args) =>
    startServer(name, process.execPath, [bin, "--port", "0", "--quiet", ...args], { env, cwd });
  if (config.runners === 0) {
    const server = await mecha("scale-in-process", ["--sandbox", "required", "--max-queued", "64"]);
    return { handles: [server], front: server };
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "mecha-bench-redis-"));
  const redis = await startServer(
    "scale-redis",
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { env, cwd: dir, ready: /Ready to accept connections/, port },
  );
  redis.cleanup = () => rmSync(dir, { recursive: true, force: true });
  const url = `redis://127.0.0.1:${port}`;
  const handles = [redis];
  try {
    const runners = await Promise.all(
      Array.from({ length: config.runners }, (_, i) =>
        mecha(`scale-runner-${i + 1}`, [
          "--redis",
          url,
          "--role",
          "runner",
          "--sandbox",
          "required",
        ]),
      ),
    );
    handles.push(...runners);
    const api = await mecha("scale-api", ["--redis", url, "--role", "api", "--max-queued", "64"]);
    handles.push(api);
    // The API instance has seen every runner once /health counts them.
    for (let i = 0; i < 100; i++) {
      const health = await fetch(`http://127.0.0.1:${api.port}/health`).then((r) => r.json());
      if (health.capacity?.runners === config.runners) break;
      await sleep(100);
    }
    return { handles, front: api };
  } catch (error) {
    await stopAll(handles);
    throw error;
  }
}

async function stopAll(handles) {
  let leftovers = 0;
  // The front first, runners next (they drain), Redis last.
  for (const handle of [...handles].reverse()) {
    leftovers += await stopServer(handle);
    handle.cleanup?.();
  }
  return leftovers;
}

const CONFIGS = [
  { key: "in-process", runners: 0, title: "mecha-server, in-process (sandbox on)" },
  { key: "redis-1", runners: 1, title: "Redis: 1 API instance + 1 runner process" },
  { key: "redis-2", runners: 2, title: "Redis: 1 API instance + 2 runner processes" },
];

/**
 * Measures each configuration in `rounds` rounds (started afresh each round): a warm-up, then
 * `print("hi")` through `POST /execute` at 1 connection (latency, CPU per run) and at
 * `connections` connections (throughput), `seconds` each.
 */
export async function scaleOut({
  bin,
  env,
  cwd,
  seconds,
  rounds,
  warmup,
  connections,
  request,
  log,
  notes,
  quiet,
}) {
  const results = {};
  for (const config of CONFIGS) results[config.key] = { ...config, latency: [], throughput: [] };
  for (let round = 0; round < rounds; round++) {
    for (const config of CONFIGS) {
      log(`\n== scale-out ${config.key} (round ${round + 1} of ${rounds}): ${config.title}`);
      const gate = await quiet();
      if (gate.otherLoadCores > 0.5) {
        notes.push(
          `scale-out ${config.key}: other processes still used ${gate.otherLoadCores} cores after waiting ${gate.waitedS} s for quiet; measured anyway`,
        );
      }
      let deployment;
      try {
        deployment = await deploy(config, { bin, env, cwd });
      } catch (error) {
        notes.push(`scale-out ${config.key}: could not start — ${error.message.split("\n")[0]}`);
        continue;
      }
      const target = composite(deployment.handles, deployment.front);
      const base = `http://127.0.0.1:${deployment.front.port}`;
      const measure = async (name, options) => {
        const { value, cpu } = await withCpuAccounting(target, () => load(base, request, options));
        const issue = problems(value);
        if (issue) notes.push(`scale-out ${config.key} ${name}: ${issue}`);
        return { ...value, cpu };
      };
      try {
        await measure("warm-up", { connections, duration: warmup });
        const latency = await measure("1 connection", { connections: 1, duration: seconds });
        results[config.key].latency.push(latency);
        const throughput = await measure(`${connections} connections`, {
          connections,
          duration: seconds,
        });
        results[config.key].throughput.push(throughput);
        log(
          `  p50 ${latency.p50.toFixed(2)} ms at 1 connection; ${throughput.rps.toFixed(1)} req/s at ${connections}`,
        );
      } catch (error) {
        notes.push(`scale-out ${config.key}: measurement failed — ${error.message}`);
      } finally {
        const leftovers = await stopAll(deployment.handles);
        if (leftovers) notes.push(`scale-out ${config.key}: ${leftovers} processes outlived it`);
      }
    }
  }
  const out = {};
  for (const [key, r] of Object.entries(results)) {
    const latency = merge(r.latency);
    const throughput = merge(r.throughput);
    const perRun = (m) => (m?.good ? m.cpu.targetMs / m.good : null);
    out[key] = {
      title: r.title,
      runners: r.runners,
      p50Ms: latency?.p50 ?? null,
      p99Ms: latency?.p99 ?? null,
      cpuMsPerRunAt1: perRun(latency),
      rps: throughput?.rps ?? null,
      cpuMsPerRun: perRun(throughput),
      otherLoadCores: throughput?.cpu.otherCores ?? null,
      roundsRps: r.throughput.map((t) => t.rps),
      connections,
    };
  }
  return out;
}
