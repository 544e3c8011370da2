#!/usr/bin/env node
// Mecha's benchmark: mecha-server (sandbox on and off) against a bare spawn floor and a copy
// of the original Flask service, one target at a time, with autocannon as the load generator;
// and its sessions against a local Jupyter kernel.
//
//   pnpm build && pnpm bench [--duration 10] [--warmup 3] [--stream-runs 20] [--rounds 2]
//     [--targets mecha-sandbox,mecha-preload,mecha-none,mecha-spawn,spawn-floor,flask,scale-out,sessions]
//     [--session-rounds 3] [--quick] [--no-profile]
//   pnpm bench sessions      (the sessions section alone: --targets sessions --no-profile)
//
// Writes bench/results/latest.md and bench/results/latest.json and prints the tables.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { load, median, merge, percentile, problems } from "./lib/load.mjs";
import { packagePrograms, packageRatios, shownPlotRequest } from "./lib/packages.mjs";
import { loadAverage, machineBusyMs, treeRss, withCpuAccounting } from "./lib/proc.mjs";
import {
  installCleanup,
  noteDescendants,
  startServer,
  stopAll,
  stopServer,
} from "./lib/processes.mjs";
import { profileRuntime, spawnFloors } from "./lib/profile.mjs";
import { renderMarkdown } from "./lib/report.mjs";
import { scaleOut, scaleOutUnavailable } from "./lib/scaleOut.mjs";
import { sessionsBench, sessionsHeadline } from "./lib/sessions.mjs";
import { executeOnce, streamOnce, wallClockOffset } from "./lib/stream.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const MECHA_BIN = join(ROOT, "packages/server/bin/mecha-server.js");
const MECHA_DIST = join(ROOT, "packages/server/dist/cli.js");
const SYSTEM_PYTHON = "/usr/bin/python3";
const RESULTS = join(HERE, "results");
/** Other processes using more than this many cores during a measurement make it "disturbed". */
const NOISE_CORES = 0.5;

const { values: flags, positionals } = parseArgs({
  options: {
    duration: { type: "string" },
    warmup: { type: "string" },
    "stream-runs": { type: "string" },
    targets: { type: "string" },
    rounds: { type: "string" },
    "session-rounds": { type: "string" },
    quick: { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
  allowPositionals: true,
});
if (positionals.length > 0) {
  if (positionals.length > 1 || positionals[0] !== "sessions") {
    process.stderr.write(`bench: unknown argument(s) ${positionals.join(" ")}; see --help\n`);
    process.exit(2);
  }
  // `pnpm bench sessions`: the sessions section alone.
  flags.targets ??= "sessions";
  flags["no-profile"] = true;
}
if (flags.help) {
  process.stdout.write(
    `${readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .slice(1, 11)
      .join("\n")
      .replace(/^\/\/ ?/gm, "")}\n`,
  );
  process.exit(0);
}
const DURATION = Number(flags.duration ?? (flags.quick ? 3 : 10));
const WARMUP = Number(flags.warmup ?? (flags.quick ? 1 : 3));
const STREAM_RUNS = Number(flags["stream-runs"] ?? (flags.quick ? 5 : 20));
const PROFILE_RUNS = flags.quick ? 10 : 20;
/** Sequential runs of each program with numpy, pandas or matplotlib, per target that runs them. */
const PACKAGE_RUNS = flags.quick ? 4 : 12;
/** What preloading imports: the zygote of the mecha-preload target has them loaded. */
const PRELOAD = "numpy,pandas,matplotlib";
/** When Mecha's memory is read a second time after load, once V8 has shrunk its heap. */
const SETTLE_MS = (flags.quick ? 10 : 40) * 1000;
const ROUNDS = Math.max(1, Number(flags.rounds ?? 2));
/** Rounds of the sessions section (each: the kernel, Mecha with zygote and spawn start-up). */
const SESSION_ROUNDS = Math.max(1, Number(flags["session-rounds"] ?? (flags.quick ? 2 : 3)));
/** Seconds the whole run may spend waiting for other load to pass or re-measuring. */
let noiseBudgetMs = (flags.quick ? 20 : 45) * 1000;

const T0 = performance.now();
const log = (message) => {
  const elapsed = `[${Math.round((performance.now() - T0) / 1000)}s]`.padEnd(7);
  process.stderr.write(
    message.startsWith("\n") ? `\n${elapsed}${message.slice(1)}\n` : `${elapsed}${message}\n`,
  );
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (value, digits = 1) =>
  typeof value === "number" && Number.isFinite(value) ? Number(value.toFixed(digits)) : null;

// ---------------------------------------------------------------------------------------------
// Programs and the requests that carry them

/** Programs with numpy, pandas and matplotlib, checked against Debian's python3 run directly. */
const PACKAGES = packagePrograms(SYSTEM_PYTHON);

const N = 3_000_000n;
const CPU_SUM = ((N - 1n) * N * (2n * N - 1n)) / 6n;
const MIB = 1 << 20;
const PROGRAMS = {
  hi: { code: 'print("hi")', check: (out) => out === "hi\n" },
  cpu: {
    code: "print(sum(i * i for i in range(3_000_000)))",
    check: (out) => out.trim() === CPU_SUM.toString(),
  },
  mib: {
    code: 'import sys\nsys.stdout.write("x" * 1048576)\n',
    check: (out) => out.length === MIB,
    // Mecha's default output cap is exactly 1 MiB for stdout and stderr together.
    limits: { outputBytes: 2 * MIB },
  },
};

function parseOr(body) {
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/** `POST /execute {code}`: the original contract, served by every target. */
function executeRequest(program) {
  return {
    path: "/execute",
    body: JSON.stringify({ code: program.code }),
    verify: (body) => {
      const parsed = parseOr(body);
      return parsed?.success === true && program.check(parsed.output);
    },
  };
}

/** `POST /runs` (protocol v1, JSON result): Mecha only. */
function runsRequest(program) {
  return {
    path: "/runs",
    body: JSON.stringify({
      language: "python",
      code: program.code,
      ...(program.limits ? { limits: program.limits } : {}),
    }),
    verify: (body) => {
      const parsed = parseOr(body);
      return parsed?.status === "succeeded" && program.check(parsed.stdout);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Targets

function serverEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith("PYTHON") || key.startsWith("npm_") || key.startsWith("PNPM")) continue;
    env[key] = value;
  }
  return env;
}

function flaskVersion() {
  const probe = spawnSync(
    SYSTEM_PYTHON,
    ["-c", "import flask, importlib.metadata as m; print(m.version('flask'))"],
    {
      encoding: "utf8",
      env: serverEnv(),
    },
  );
  return probe.status === 0 ? probe.stdout.trim() : null;
}

function mechaTarget(key, mode, title, extra = [], packages = false) {
  return {
    key,
    title,
    mecha: true,
    packages,
    sandboxed: mode !== "none",
    command: ["mecha-server --sandbox", mode, ...extra, "--max-queued 64 --quiet"].join(" "),
    start: () =>
      startServer(
        key,
        process.execPath,
        [MECHA_BIN, "--port", "0", "--sandbox", mode, ...extra, "--quiet", "--max-queued", "64"],
        { env: serverEnv(), cwd: ROOT },
      ),
    extraRequest: runsRequest,
  };
}

const ALL_TARGETS = [
  mechaTarget(
    "mecha-sandbox",
    "required",
    "Mecha as shipped, sandbox on (bwrap + seccomp + cgroups; the default zygote start-up: one preloaded interpreter forks and isolates each run)",
    [],
    true,
  ),
  mechaTarget(
    "mecha-preload",
    "required",
    `Mecha, sandbox on, its zygote preloading ${PRELOAD} (--preload)`,
    ["--preload", PRELOAD],
    true,
  ),
  mechaTarget(
    "mecha-none",
    "none",
    "Mecha, sandbox off (zygote start-up without namespaces: process isolation + cgroups)",
  ),
  mechaTarget(
    "mecha-spawn",
    "required",
    "Mecha, sandbox on, spawn start-up (bubblewrap and a fresh interpreter per run)",
    ["--startup", "spawn"],
  ),
  {
    key: "spawn-floor",
    title: "Spawn floor (Node http, one python3 -E -s -c per request)",
    packages: true,
    command: "node bench/spawn_floor.mjs",
    start: () =>
      startServer("spawn-floor", process.execPath, [join(HERE, "spawn_floor.mjs"), "--port", "0"], {
        env: serverEnv(),
        cwd: ROOT,
      }),
    extraRequest: executeRequest,
  },
  {
    key: "flask",
    title: "Flask (original design: threaded dev server, subprocess.run python3 -c)",
    packages: true,
    command: "/usr/bin/python3 bench/flask_app.py",
    start: () =>
      startServer("flask", SYSTEM_PYTHON, [join(HERE, "flask_app.py"), "--port", "0"], {
        env: serverEnv(),
        cwd: ROOT,
      }),
    extraRequest: executeRequest,
    unavailable: () =>
      existsSync(SYSTEM_PYTHON) && flaskVersion()
        ? null
        : "Debian's python3-flask is not installed: run `apt-get install -y python3-flask` to include this target.",
  },
];

// ---------------------------------------------------------------------------------------------
// Measurements

async function waitIdle(target, handle) {
  if (!target.mecha) {
    await sleep(500);
    return;
  }
  // Runs whose requests autocannon dropped at the end are being cancelled: wait them out.
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`http://127.0.0.1:${handle.port}/health`);
      const body = await response.json();
      if (body.capacity.running === 0 && body.capacity.queued === 0) break;
    } catch {}
    await sleep(100);
  }
  await sleep(300);
}

/**
 * A load run with CPU accounting. A timed run disturbed by other load is repeated once (within
 * the noise budget) and the quieter of the two kept.
 */
async function measured(target, handle, name, request, { retry = true, ...options }, notes = []) {
  const once = async () => {
    await waitIdle(target, handle);
    const { value, cpu } = await withCpuAccounting(handle, () =>
      load(`http://127.0.0.1:${handle.port}`, request, options),
    );
    return { ...value, cpu };
  };
  let result = await once();
  if (
    retry &&
    result.cpu.otherCores > NOISE_CORES &&
    options.duration &&
    noiseBudgetMs >= options.duration * 1000
  ) {
    noiseBudgetMs -= options.duration * 1000;
    log(
      `  ${name}: other processes used ${result.cpu.otherCores.toFixed(2)} cores; measuring again`,
    );
    const again = await once();
    notes.push(
      `${target.key} ${name}: disturbed (other load ${result.cpu.otherCores.toFixed(2)} cores), re-measured (${again.cpu.otherCores.toFixed(2)} cores); kept the quieter run`,
    );
    if (again.cpu.otherCores < result.cpu.otherCores) result = again;
  }
  const issue = problems(result);
  if (issue) notes.push(`${target.key} ${name}: ${issue}${sampleText(result)}`);
  return result;
}

function sampleText(result) {
  const samples = [...result.errorSamples, ...result.mismatchSamples.map((b) => `body: ${b}`)];
  return samples.length ? ` — e.g. ${samples.slice(0, 2).join(" | ")}` : "";
}

function summary(r) {
  if (!r) return null;
  const perReq = (ms) => (r.good && typeof ms === "number" ? round(ms / r.good, 2) : null);
  return {
    connections: r.connections,
    seconds: round(r.seconds, 2),
    requests: r.responses,
    ok: r.good,
    rps: round(r.rps, 1),
    p50Ms: round(r.p50, 2),
    p90Ms: round(r.p90, 2),
    p99Ms: round(r.p99, 2),
    maxMs: round(r.max, 2),
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    mismatches: r.mismatches,
    statuses: r.statuses,
    cpuMsPerRequest: perReq(r.cpu.targetMs),
    serverCpuMsPerRequest: perReq(r.cpu.serverMs),
    childCpuMsPerRequest: perReq(r.cpu.childrenMs),
    userCpuMsPerRequest: perReq(r.cpu.targetUserMs),
    sysCpuMsPerRequest: perReq(r.cpu.targetSysMs),
    cpuSource: r.cpu.source,
    otherLoadCores: round(r.cpu.otherCores, 2),
  };
}

/** Waits (within the noise budget, `maxMs` at most) for other processes to calm down. */
async function waitForQuiet(maxMs = 15_000) {
  const t0 = performance.now();
  let cores = await otherLoad(1000);
  while (cores > NOISE_CORES && performance.now() - t0 < Math.min(maxMs, noiseBudgetMs)) {
    cores = await otherLoad(1000);
  }
  const waited = performance.now() - t0 - 1000;
  noiseBudgetMs = Math.max(0, noiseBudgetMs - waited);
  return { waitedS: round(waited / 1000, 0), otherLoadCores: round(cores, 2) };
}

async function burst(target, handle, notes) {
  // 50 runs at once, three times: wall time until the last answer, and each run's latency.
  const rounds = [];
  const latencies = [];
  for (let i = 0; i < 3; i++) {
    const r = await measured(
      target,
      handle,
      "50 concurrent",
      target.extraRequest(PROGRAMS.hi),
      { connections: 50, amount: 50 },
      notes,
    );
    rounds.push(r);
  }
  for (const r of rounds) latencies.push(r.p50, r.p99, r.max);
  const walls = rounds.map((r) => r.wallMs);
  return {
    rounds: rounds.length,
    wallMs: round(median(walls), 1),
    wallMsAll: walls.map((w) => round(w, 1)),
    perRunP50Ms: round(median(rounds.map((r) => r.p50)), 1),
    perRunP99Ms: round(median(rounds.map((r) => r.p99)), 1),
    perRunMaxMs: round(Math.max(...rounds.map((r) => r.max ?? 0)), 1),
    ok: rounds.reduce((s, r) => s + r.good, 0),
    sent: rounds.length * 50,
    errors: rounds.reduce((s, r) => s + r.errors, 0),
    non2xx: rounds.reduce((s, r) => s + r.non2xx, 0),
    mismatches: rounds.reduce((s, r) => s + r.mismatches, 0),
    otherLoadCores: round(median(rounds.map((r) => r.cpu.otherCores)), 2),
  };
}

async function streaming(target, handle, runs, notes) {
  const delays = [];
  let failures = 0;
  const once = target.mecha ? streamOnce : executeOnce;
  const offset = wallClockOffset();
  for (let i = 0; i < runs; i++) {
    try {
      const { delayMs, status } = await once(handle.port, offset);
      if (status !== "succeeded") failures++;
      delays.push(delayMs);
    } catch (error) {
      failures++;
      if (failures <= 2) notes.push(`${target.key} streaming: ${error.message}`);
    }
  }
  delays.sort((a, b) => a - b);
  if (failures) notes.push(`${target.key} streaming: ${failures} of ${runs} runs failed`);
  return {
    runs,
    failures,
    p50Ms: round(percentile(delays, 50), 2),
    p90Ms: round(percentile(delays, 90), 2),
    minMs: round(delays[0], 2),
    maxMs: round(delays[delays.length - 1], 2),
    mode: target.mecha ? "ndjson stream, first stdout event" : "JSON response (after exit)",
  };
}

function memory(pid) {
  const rss = treeRss(pid);
  return {
    serverKb: rss.selfKb,
    descendantsKb: rss.descendantsKb,
    descendants: rss.descendantCount,
    totalKb: rss.selfKb + rss.descendantsKb,
  };
}

async function health(port) {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/health`)).json();
  } catch {
    return null;
  }
}

/** `POST /execute {code}` once; the parsed answer. */
async function execute(port, code) {
  const response = await fetch(`http://127.0.0.1:${port}/execute`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
  return await response.json();
}

/**
 * What a program run through `/execute` sees of its isolation: its pid (1 is its namespace's
 * init), its seccomp mode and capabilities, and whether it can reach the server's own port.
 */
async function isolationSeen(port) {
  const code = [
    "import os, socket",
    'status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)',
    "try:",
    `    socket.create_connection(("127.0.0.1", ${port}), timeout=1).close()`,
    "    reach = True",
    "except OSError:",
    "    reach = False",
    'print(os.getpid(), status["Seccomp"].strip(), status["CapEff"].strip(), reach)',
  ].join("\n");
  try {
    const body = await execute(port, code);
    const [pid, seccomp, capEff, reach] = String(body.output ?? "")
      .trim()
      .split(" ");
    if (!body.success || reach === undefined) return { error: body.error ?? body.output };
    const seen = {
      pid: Number(pid),
      seccomp: Number(seccomp),
      capabilities: capEff,
      reachesServer: reach === "True",
    };
    return {
      ...seen,
      sandboxed:
        seen.pid <= 3 &&
        seen.seccomp === 2 &&
        /^0+$/.test(seen.capabilities) &&
        !seen.reachesServer,
    };
  } catch (error) {
    return { error: error.message };
  }
}

/** The first `print("hi")` a freshly started, idle server answers (nothing warmed up yet). */
async function firstRequest(port, notes, key) {
  const t0 = performance.now();
  try {
    const body = await execute(port, PROGRAMS.hi.code);
    const ms = performance.now() - t0;
    if (!(body.success === true && PROGRAMS.hi.check(body.output))) {
      notes.push(`${key} first request: unexpected answer ${JSON.stringify(body).slice(0, 200)}`);
    }
    return round(ms, 1);
  } catch (error) {
    notes.push(`${key} first request: ${error.message}`);
    return null;
  }
}

/** Starts a target; on failure records why and returns null. */
async function startTarget(target, out, notes) {
  const t0 = performance.now();
  try {
    const handle = await target.start();
    out.startupMs ??= round(performance.now() - t0, 0);
    return handle;
  } catch (error) {
    log(`  could not start: ${error.message}`);
    notes.push(`${target.key}: could not start — ${error.message.split("\n")[0]}`);
    out.skipped = `could not start: ${error.message}`;
    return null;
  }
}

/** One round of the headline numbers: warm-up, 1 connection, then 10 connections. */
async function headline(target, handle, state, roundIndex, rounds, notes) {
  const gate = await waitForQuiet();
  state.quietGates.push(gate);
  if (gate.otherLoadCores > NOISE_CORES) {
    notes.push(
      `${target.key}: other processes still used ${gate.otherLoadCores} cores after waiting ${gate.waitedS} s for quiet; measured anyway`,
    );
  } else if (gate.waitedS > 0) {
    log(`  waited ${gate.waitedS}s for other load to pass`);
  }
  const hi = executeRequest(PROGRAMS.hi);
  const seconds = DURATION / rounds;
  // Later rounds start a fresh server too, but the machine's caches are warm by then.
  const warmup = roundIndex === 0 ? WARMUP : Math.min(WARMUP, 2);
  log(`  warm-up ${warmup}s at 10 connections`);
  const warm = await measured(target, handle, "warm-up", hi, {
    connections: 10,
    duration: warmup,
    retry: false,
  });
  if (problems(warm)) notes.push(`${target.key} warm-up: ${problems(warm)}${sampleText(warm)}`);
  log(`  latency: 1 connection, ${seconds}s`);
  const latency = await measured(
    target,
    handle,
    "1 connection",
    hi,
    {
      connections: 1,
      duration: seconds,
    },
    notes,
  );
  state.latency.push(latency);
  log(
    `    p50 ${round(latency.p50, 2)} ms, p99 ${round(latency.p99, 2)} ms, ${round(latency.rps)} req/s (other load ${latency.cpu.otherCores.toFixed(2)} cores)`,
  );
  log(`  throughput: 10 connections, ${seconds}s`);
  const throughput = await measured(
    target,
    handle,
    "10 connections",
    hi,
    {
      connections: 10,
      duration: seconds,
    },
    notes,
  );
  state.throughput.push(throughput);
  log(
    `    ${round(throughput.rps)} req/s, p50 ${round(throughput.p50, 2)} ms (other load ${throughput.cpu.otherCores.toFixed(2)} cores)`,
  );
}

/** The rest, once per target: heavier programs, a burst, streaming, memory after load. */
async function details(target, handle, out, notes) {
  log("  CPU-heavy program (sum of 3M squares), 1 connection, 8 runs");
  const cpuRequest = target.extraRequest(PROGRAMS.cpu);
  await measured(
    target,
    handle,
    "CPU-heavy warm-up",
    cpuRequest,
    { connections: 1, amount: 1 },
    notes,
  );
  out.cpuHeavy = summary(
    await measured(target, handle, "CPU-heavy", cpuRequest, { connections: 1, amount: 8 }, notes),
  );
  log(`    p50 ${out.cpuHeavy.p50Ms} ms`);
  log("  1 MiB output, 1 connection, 10 runs");
  out.mibOutput = summary(
    await measured(
      target,
      handle,
      "1 MiB output",
      target.extraRequest(PROGRAMS.mib),
      {
        connections: 1,
        amount: 10,
      },
      notes,
    ),
  );
  log(`    p50 ${out.mibOutput.p50Ms} ms`);
  if (target.packages) await packageRuns(target, handle, out, notes);
  log("  50 concurrent runs, 3 rounds");
  out.burst50 = await burst(target, handle, notes);
  log(
    `    wall ${out.burst50.wallMs} ms, per-run p50 ${out.burst50.perRunP50Ms} ms, max ${out.burst50.perRunMaxMs} ms`,
  );
  if (target.mecha || target.key === "flask") {
    const runs = target.mecha ? STREAM_RUNS : Math.min(3, STREAM_RUNS);
    log(`  streaming latency: print → client, ${runs} runs`);
    await waitIdle(target, handle);
    out.streaming = await streaming(target, handle, runs, notes);
    log(`    p50 ${out.streaming.p50Ms} ms`);
  }
  noteDescendants(handle);
  await waitIdle(target, handle);
  await sleep(2000);
  out.memoryAfterLoad = memory(handle.pid);
  if (target.mecha) {
    // V8 hands a heap grown under load back only after some idle time (its memory reducer).
    log(`  memory once idle: ${SETTLE_MS / 1000} s after the last request`);
    await sleep(SETTLE_MS - 2000);
    out.memorySettled = memory(handle.pid);
  }
}

/** The programs with numpy, pandas and matplotlib: a warm-up run, then PACKAGE_RUNS each. */
async function packageRuns(target, handle, out, notes) {
  if (PACKAGES.unavailable) return;
  const programs = [
    ["pandas", target.extraRequest(PACKAGES.pandas)],
    ["plot", target.extraRequest(PACKAGES.plot)],
    ...(target.mecha ? [["shownPlot", shownPlotRequest(PACKAGES.shown)]] : []),
  ];
  for (const [name, request] of programs) {
    log(`  ${name} program, 1 connection, ${PACKAGE_RUNS} runs`);
    await measured(
      target,
      handle,
      `${name} warm-up`,
      request,
      { connections: 1, amount: 1 },
      notes,
    );
    out[name] = summary(
      await measured(
        target,
        handle,
        name,
        request,
        { connections: 1, amount: PACKAGE_RUNS },
        notes,
      ),
    );
    log(`    p50 ${out[name].p50Ms} ms, ${out[name].cpuMsPerRequest} ms of CPU per run`);
  }
}

function roundsView(runs) {
  return runs.map((r) => ({
    rps: round(r.rps, 1),
    p50Ms: round(r.p50, 2),
    p99Ms: round(r.p99, 2),
    otherLoadCores: round(r.cpu.otherCores, 2),
  }));
}

/**
 * Every target, one at a time, in ROUNDS rounds: each round starts the target, measures the
 * headline numbers for DURATION / ROUNDS seconds, and stops it, so that a wave of load from
 * other processes falls on several targets rather than on one. The last round also measures
 * the details. Rounds are pooled (all response times together).
 */
async function runTargets(targets, notes) {
  const outs = {};
  const states = {};
  for (const target of targets) {
    outs[target.key] = { key: target.key, title: target.title, command: target.command };
    states[target.key] = { latency: [], throughput: [], quietGates: [] };
    const reason = target.unavailable?.();
    if (reason) {
      log(`\n== ${target.key}: SKIPPED — ${reason}`);
      outs[target.key].skipped = reason;
      notes.push(`${target.key} skipped: ${reason}`);
    }
  }
  for (let roundIndex = 0; roundIndex < ROUNDS; roundIndex++) {
    const last = roundIndex === ROUNDS - 1;
    for (const target of targets) {
      const out = outs[target.key];
      const state = states[target.key];
      if (out.skipped) continue;
      log(`\n== ${target.key} (round ${roundIndex + 1} of ${ROUNDS}): ${target.title}`);
      const handle = await startTarget(target, out, notes);
      if (!handle) continue;
      try {
        if (target.mecha && !out.health) {
          const h = await health(handle.port);
          out.health = h && {
            isolation: h.runtimes?.[0]?.isolation,
            python: h.runtimes?.[0]?.version,
            capacity: h.capacity,
          };
        }
        if (roundIndex === 0) {
          if (target.mecha) {
            out.isolationSeen = await isolationSeen(handle.port);
            if (target.sandboxed && out.isolationSeen?.sandboxed !== true) {
              notes.push(
                `${target.key}: the sandbox was NOT seen by a program: ${JSON.stringify(out.isolationSeen)}`,
              );
            }
          }
          await sleep(1000);
          out.memoryIdle = memory(handle.pid);
          out.firstRequestMs = await firstRequest(handle.port, notes, target.key);
        }
        await headline(target, handle, state, roundIndex, ROUNDS, notes);
        if (last) await details(target, handle, out, notes);
      } catch (error) {
        notes.push(`${target.key}: measurement failed — ${error.message}`);
        log(`  measurement failed: ${error.stack}`);
        out.failed = error.message;
      } finally {
        const leftovers = await stopServer(handle);
        out.leftoverProcesses = (out.leftoverProcesses ?? 0) + leftovers;
        if (leftovers) {
          notes.push(`${target.key}: ${leftovers} processes outlived the server and were killed`);
        }
      }
    }
  }
  for (const target of targets) {
    const out = outs[target.key];
    const state = states[target.key];
    if (state.latency.length) {
      out.latency = summary(merge(state.latency));
      out.latencyRounds = roundsView(state.latency);
    }
    if (state.throughput.length) {
      out.throughput = summary(merge(state.throughput));
      out.throughputRounds = roundsView(state.throughput);
      const rates = state.throughput.map((r) => r.rps);
      const spread = (Math.max(...rates) - Math.min(...rates)) / Math.max(...rates);
      if (rates.length > 1 && spread > 0.25) {
        notes.push(
          `${target.key}: its rounds disagree (10-connection req/s ${rates.map((r) => r.toFixed(1)).join(" vs ")}); the machine was not steady`,
        );
      }
    }
    out.quietGates = state.quietGates;
  }
  return outs;
}

// ---------------------------------------------------------------------------------------------
// Profile and environment

async function profile(notes) {
  const mod = await import(join(ROOT, "packages/server/dist/index.js"));
  const out = { runs: {} };
  const variants = [
    ["sandbox, cold start per run", "required", 0],
    ["sandbox, server default (warm pool)", "required", undefined],
    ["no sandbox, cold start per run", "none", 0],
    ["no sandbox, server default (warm pool)", "none", undefined],
  ];
  for (const [label, mode, warmPool] of variants) {
    const wantFloors = mode === "required" && warmPool === 0;
    try {
      const result = await profileRuntime(mod.createPythonRuntime, mode, PROFILE_RUNS, {
        warmPool,
        whileOpen: wantFloors
          ? (spawned) =>
              spawned?.command.endsWith("bwrap")
                ? spawnFloors(spawned.args[spawned.args.indexOf("--") + 1], spawned, PROFILE_RUNS)
                : null
          : undefined,
      });
      if (result.extra) out.floors = result.extra;
      delete result.extra;
      out.runs[label] = result;
    } catch (error) {
      notes.push(`profile (${label}): ${error.message}`);
      out.runs[label] = { failed: error.message };
    }
  }
  if (!out.floors) {
    out.floors = await spawnFloors(SYSTEM_PYTHON, null, PROFILE_RUNS).catch((error) => {
      notes.push(`spawn floors: ${error.message}`);
      return null;
    });
  }
  return out;
}

async function otherLoad(ms) {
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const self = process.cpuUsage(self0);
  return (machineBusyMs() - busy0 - (self.user + self.system) / 1000) / (performance.now() - t0);
}

function version(command, args) {
  try {
    return execFileSync(command, args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }).trim();
  } catch {
    return null;
  }
}

/** The commit measured, and the server's files that differ from it (a build includes them). */
function gitState() {
  const commit = version("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = (
    version("git", ["-C", ROOT, "status", "--porcelain", "--", "packages/server"]) ?? ""
  )
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  return { commit, serverChanges: dirty };
}

function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
    python: version(SYSTEM_PYTHON, ["--version"]),
    bwrap: version("bwrap", ["--version"]),
    flask: flaskVersion(),
    git: gitState(),
    autocannon: JSON.parse(readFileSync(join(ROOT, "node_modules/autocannon/package.json"), "utf8"))
      .version,
  };
}

// ---------------------------------------------------------------------------------------------
// Ratios and main

function ratio(a, b, digits = 2) {
  return typeof a === "number" && typeof b === "number" && b !== 0 ? round(a / b, digits) : null;
}

function ratios(targets) {
  const flask = targets.flask;
  const vsFlask = {};
  for (const [key, t] of Object.entries(targets)) {
    if (!t.latency || !flask?.latency) continue;
    vsFlask[key] = {
      p50: ratio(t.latency.p50Ms, flask.latency.p50Ms),
      p99: ratio(t.latency.p99Ms, flask.latency.p99Ms),
      rps: ratio(t.throughput?.rps, flask.throughput?.rps),
      cpuHeavyP50: ratio(t.cpuHeavy?.p50Ms, flask.cpuHeavy?.p50Ms),
      mibOutputP50: ratio(t.mibOutput?.p50Ms, flask.mibOutput?.p50Ms),
      burst50Wall: ratio(t.burst50?.wallMs, flask.burst50?.wallMs),
    };
  }
  const on = targets["mecha-sandbox"];
  const off = targets["mecha-none"];
  const sandboxVsNone =
    on?.latency && off?.latency
      ? {
          p50: ratio(on.latency.p50Ms, off.latency.p50Ms),
          p99: ratio(on.latency.p99Ms, off.latency.p99Ms),
          rps: ratio(on.throughput?.rps, off.throughput?.rps),
          cpuMsPerRequest: ratio(on.throughput?.cpuMsPerRequest, off.throughput?.cpuMsPerRequest),
          cpuHeavyP50: ratio(on.cpuHeavy?.p50Ms, off.cpuHeavy?.p50Ms),
          mibOutputP50: ratio(on.mibOutput?.p50Ms, off.mibOutput?.p50Ms),
          burst50Wall: ratio(on.burst50?.wallMs, off.burst50?.wallMs),
          streamingP50: ratio(on.streaming?.p50Ms, off.streaming?.p50Ms),
          p50AddedMs: round(on.latency.p50Ms - off.latency.p50Ms, 2),
        }
      : null;
  const floor = targets["spawn-floor"];
  const vsFloor = {};
  for (const [key, t] of Object.entries(targets)) {
    if (!t.latency || !floor?.latency) continue;
    vsFloor[key] = {
      p50: ratio(t.latency.p50Ms, floor.latency.p50Ms),
      rps: ratio(t.throughput?.rps, floor.throughput?.rps),
    };
  }
  return { vsFlask, sandboxVsNone, vsSpawnFloor: vsFloor, packages: packageRatios(targets) };
}

async function main() {
  if (!existsSync(MECHA_DIST)) {
    log("bench: @mecha/server is not built; run `pnpm build` first.");
    process.exit(1);
  }
  installCleanup();
  const wanted = flags.targets
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const sections = ["scale-out", "sessions"];
  const unknown =
    wanted?.filter((k) => !sections.includes(k) && !ALL_TARGETS.some((t) => t.key === k)) ?? [];
  if (unknown.length) {
    log(
      `bench: unknown target(s) ${unknown.join(", ")}; known: ${[...ALL_TARGETS.map((t) => t.key), ...sections].join(", ")}`,
    );
    process.exit(2);
  }
  const targets = ALL_TARGETS.filter((t) => !wanted || wanted.includes(t.key));
  const started = new Date();
  const t0 = performance.now();
  const notes = [];
  const env = machine();
  log(
    `bench: ${env.cores} cores, ${env.cpu}, node ${env.node}, ${env.python}, load ${loadAverage().join(" ")}`,
  );
  const baseline = await otherLoad(2000);
  log(`bench: other processes use ${baseline.toFixed(2)} cores before the run`);
  if (baseline > NOISE_CORES) {
    notes.push(
      `machine busy before the run: other processes used ${baseline.toFixed(2)} of ${env.cores} cores (load average ${loadAverage().join(" ")}); absolute numbers are pessimistic`,
    );
  }

  let profiled = null;
  if (!flags["no-profile"]) {
    log(`\n== profile: ${PROFILE_RUNS} in-process runs per mode, and bare spawns`);
    profiled = await profile(notes);
  }

  if (PACKAGES.unavailable && targets.some((t) => t.packages))
    notes.push(`programs with packages not measured: ${PACKAGES.unavailable}`);
  const results = await runTargets(targets, notes);
  if (targets.length > 0 && (!targets.some((t) => t.key === "flask") || results.flask?.skipped)) {
    notes.push("no Flask numbers in this run, so no ratios against Flask");
  }
  let scaled = null;
  if (!wanted || wanted.includes("scale-out")) {
    const reason = scaleOutUnavailable();
    if (reason) {
      notes.push(reason);
      scaled = { skipped: reason };
    } else {
      scaled = await scaleOut({
        bin: MECHA_BIN,
        env: serverEnv(),
        cwd: ROOT,
        seconds: DURATION / ROUNDS,
        rounds: ROUNDS,
        warmup: Math.min(WARMUP, 2),
        connections: 10,
        request: executeRequest(PROGRAMS.hi),
        log,
        notes,
        quiet: waitForQuiet,
      });
    }
  }
  let sessions = null;
  if (!wanted || wanted.includes("sessions")) {
    sessions = await sessionsBench({
      bin: MECHA_BIN,
      env: serverEnv(),
      cwd: ROOT,
      python: SYSTEM_PYTHON,
      rounds: SESSION_ROUNDS,
      creates: flags.quick ? 10 : 20,
      cells: flags.quick ? 60 : 200,
      warmup: 20,
      kernelStarts: flags.quick ? 1 : 2,
      log,
      notes,
      // At most 3 s per round, so the section stays near a minute on a busy machine.
      quiet: () => waitForQuiet(3000),
    });
  }
  const leftovers = await stopAll();
  if (leftovers) notes.push(`${leftovers} processes were still running at the end and were killed`);

  const report = {
    date: started.toISOString(),
    durationS: round((performance.now() - t0) / 1000, 0),
    machine: env,
    config: {
      durationS: DURATION,
      rounds: ROUNDS,
      warmupS: WARMUP,
      streamRuns: STREAM_RUNS,
      profileRuns: PROFILE_RUNS,
      settleS: SETTLE_MS / 1000,
      noiseThresholdCores: NOISE_CORES,
      sessionRounds: SESSION_ROUNDS,
      otherLoadBeforeCores: round(baseline, 2),
      loadAverageAtEnd: loadAverage(),
    },
    targets: results,
    ratios: ratios(results),
    profile: profiled,
    scaleOut: scaled,
    sessions,
    notes,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = renderMarkdown(report);
  writeFileSync(join(RESULTS, "latest.md"), markdown);
  process.stdout.write(`\n${markdown}`);
  for (const line of sessionsHeadline(sessions)) log(line);
  log(`\nbench: wrote bench/results/latest.md and latest.json in ${report.durationS}s`);
}

main().catch(async (error) => {
  log(`bench: ${error.stack ?? error}`);
  await stopAll();
  process.exit(1);
});
