// The sessions section: Mecha's sessions side by side with a local Jupyter kernel (Debian's
// python3-ipykernel, no sandbox), the anchor their targets are set against. Creating a session
// against starting a kernel, and a cell round trip (`x + 1` after `x = 1`) against the kernel's
// execute round trip. Several rounds, alternating which side goes first; the headline is the median of the
// rounds' p50s and p90s.
import { spawn, spawnSync } from "node:child_process";
import { Agent, request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, percentile } from "./load.mjs";
import { withCpuAccounting } from "./proc.mjs";
import { startServer, stopServer } from "./processes.mjs";

const ANCHOR = join(dirname(fileURLToPath(import.meta.url)), "..", "kernel_anchor.py");

/** The targets: a cell no slower than the kernel's; creation ≥ 10× its start. */
export const SESSION_TARGETS = { cellRatio: 1, createSpeedup: 10 };

/** Why the kernel anchor cannot run here, or null. */
export function kernelUnavailable(python) {
  const probe = spawnSync(python, ["-c", "import ipykernel, jupyter_client"], { encoding: "utf8" });
  return probe.status === 0
    ? null
    : "Debian's python3-ipykernel is not installed (apt-get install -y python3-ipykernel): no Jupyter kernel to compare sessions with";
}

/** One JSON request on a keep-alive connection: { status, body, ms }. */
function call(agent, port, method, path, payload) {
  const body = payload === undefined ? null : JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: body ? { "content-type": "application/json" } : {},
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          text += chunk;
        });
        res.on("end", () => {
          const ms = performance.now() - t0;
          let parsed = null;
          try {
            parsed = text ? JSON.parse(text) : null;
          } catch {}
          resolve({ status: res.statusCode, body: parsed ?? text, ms });
        });
      },
    );
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

function expect(answer, status, what) {
  if (answer.status !== status) {
    throw new Error(
      `${what}: HTTP ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)} (expected ${status})`,
    );
  }
  return answer.body;
}

const openSession = (agent, port) =>
  call(agent, port, "POST", "/sessions", { language: "python" }).then((a) => ({
    ...a,
    id: expect(a, 201, "POST /sessions").id,
  }));
const closeSession = (agent, port, id) =>
  call(agent, port, "DELETE", `/sessions/${id}`).then((a) => expect(a, 204, "DELETE /sessions"));

/** One cell; throws unless it succeeded, kept its session and displayed `expected`. */
async function cell(agent, port, id, code, expected) {
  const answer = await call(agent, port, "POST", `/sessions/${id}/runs`, { code });
  const result = expect(answer, 200, `POST /sessions/{id}/runs ${code}`);
  const shown = result.displays?.[0]?.data?.["text/plain"];
  if (result.status !== "succeeded" || result.session?.state !== "kept" || shown !== expected) {
    throw new Error(`${code} answered ${JSON.stringify(result).slice(0, 300)}`);
  }
  return answer.ms;
}

const perOp = (cpu, count) => ({
  totalMs: cpu.targetMs / count,
  serverMs: cpu.serverMs / count,
  childrenMs: cpu.childrenMs / count,
  clientMs: cpu.benchMs / count,
  otherCores: cpu.otherCores,
});

/**
 * One Mecha server, started as `args` say: `creates` sessions opened (each deleted before the
 * next) after two unmeasured ones, then one session with `x = 1` and `cells` round trips of
 * `x + 1` after `warmup` unmeasured ones; CPU of the server and its children for each phase.
 */
async function measureMecha({ name, bin, args, env, cwd, creates, cells, warmup }) {
  const handle = await startServer(
    name,
    process.execPath,
    [bin, "--port", "0", "--quiet", ...args],
    { env, cwd },
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { port } = handle;
  try {
    for (let i = 0; i < 2; i++) {
      await closeSession(agent, port, (await openSession(agent, port)).id);
    }
    const createMs = [];
    const deleteMs = [];
    const created = await withCpuAccounting(handle, async () => {
      for (let i = 0; i < creates; i++) {
        const opened = await openSession(agent, port);
        createMs.push(opened.ms);
        const t0 = performance.now();
        await closeSession(agent, port, opened.id);
        deleteMs.push(performance.now() - t0);
      }
    });
    const { id } = await openSession(agent, port);
    await cell(agent, port, id, "x = 1", undefined);
    for (let i = 0; i < warmup; i++) await cell(agent, port, id, "x + 1", "2");
    const cellMs = [];
    const ran = await withCpuAccounting(handle, async () => {
      for (let i = 0; i < cells; i++) cellMs.push(await cell(agent, port, id, "x + 1", "2"));
    });
    await closeSession(agent, port, id);
    return {
      createMs,
      deleteMs,
      cellMs,
      createCpu: perOp(created.cpu, creates),
      cellCpu: perOp(ran.cpu, cells),
    };
  } finally {
    agent.destroy();
    await stopServer(handle);
  }
}

/** The anchor: bench/kernel_anchor.py, its JSON answer. */
function measureKernel({ python, script, env, starts, cells, warmup }) {
  const args = [
    script,
    "--starts",
    String(starts),
    "--cells",
    String(cells),
    "--warmup",
    String(warmup),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err = (err + chunk).slice(-4000);
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`kernel_anchor.py exited ${code}: ${err.trim().split("\n").pop()}`));
    });
  });
}

/** p50 and p90 of a list of ms. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90) };
}

/** The median over rounds of each round's p50 and p90 (and every round's, to show the spread). */
function overRounds(rounds, pick) {
  const each = rounds.map(pick).filter(Boolean);
  if (each.length === 0) return null;
  return {
    p50: median(each.map((s) => s.p50)),
    p90: median(each.map((s) => s.p90)),
    n: each.reduce((total, s) => total + s.n, 0),
    roundsP50: each.map((s) => s.p50),
  };
}

/**
 * Runs `rounds` rounds of: the kernel anchor, Mecha (zygote start-up, the default), and Mecha
 * with `--startup spawn`; the kernel first in even rounds, Mecha first in odd ones.
 */
export async function sessionsBench(options) {
  const { bin, env, cwd, python, rounds, creates, cells, warmup, kernelStarts, log, notes } =
    options;
  const reason = kernelUnavailable(python);
  if (reason) {
    notes.push(reason);
    return { skipped: reason };
  }
  const sides = {
    kernel: () =>
      measureKernel({ python, script: ANCHOR, env, starts: kernelStarts, cells, warmup }),
    zygote: () =>
      measureMecha({
        name: "sessions-zygote",
        bin,
        args: ["--sandbox", "required"],
        env,
        cwd,
        creates,
        cells,
        warmup,
      }),
    spawn: () =>
      measureMecha({
        name: "sessions-spawn",
        bin,
        args: ["--sandbox", "required", "--startup", "spawn"],
        env,
        cwd,
        creates: Math.ceil(creates / 2),
        cells: Math.ceil(cells / 2),
        warmup,
      }),
  };
  const results = { kernel: [], zygote: [], spawn: [] };
  const gates = [];
  for (let round = 0; round < rounds; round++) {
    const gate = await options.quiet();
    gates.push(gate);
    if (gate.otherLoadCores > 0.5) {
      notes.push(
        `sessions (round ${round + 1}): other processes still used ${gate.otherLoadCores} cores after waiting ${gate.waitedS} s for quiet; measured anyway`,
      );
    }
    const order = round % 2 === 0 ? ["kernel", "zygote", "spawn"] : ["zygote", "spawn", "kernel"];
    for (const side of order) {
      log(`\n== sessions (round ${round + 1} of ${rounds}): ${side}`);
      try {
        const value = await sides[side]();
        results[side].push(value);
        const cellSpread = spread(value.cellMs);
        const first = side === "kernel" ? value.startMs : value.createMs;
        log(
          `  ${side === "kernel" ? "start" : "create"} p50 ${spread(first).p50.toFixed(1)} ms; cell p50 ${cellSpread.p50.toFixed(2)} ms, p90 ${cellSpread.p90.toFixed(2)} ms`,
        );
      } catch (error) {
        notes.push(`sessions ${side} (round ${round + 1}): ${error.message}`);
        log(`  failed: ${error.message}`);
      }
    }
  }
  return summarize(results, gates, { rounds, creates, cells, warmup, kernelStarts });
}

/** The median over rounds of each CPU figure (ms per operation). */
function cpuOf(rounds) {
  const out = {};
  for (const key of ["totalMs", "serverMs", "childrenMs", "clientMs", "otherCores"]) {
    out[key] = median(rounds.map((r) => r[key]));
  }
  return out;
}

function summarize(results, gates, config) {
  const mecha = (runs) => ({
    create: overRounds(runs, (r) => spread(r.createMs)),
    delete: overRounds(runs, (r) => spread(r.deleteMs)),
    cell: overRounds(runs, (r) => spread(r.cellMs)),
    createCpu: cpuOf(runs.map((r) => r.createCpu)),
    cellCpu: cpuOf(runs.map((r) => r.cellCpu)),
  });
  const kernelRuns = results.kernel;
  const kernel = {
    start: overRounds(kernelRuns, (r) => spread(r.startMs)),
    cell: overRounds(kernelRuns, (r) => spread(r.cellMs)),
    cellCpu: {
      totalMs: median(kernelRuns.map((r) => r.cellCpu?.kernelMs)),
      clientMs: median(kernelRuns.map((r) => r.cellCpu?.clientMs)),
    },
    versions: kernelRuns[0]?.versions ?? null,
  };
  const zygote = mecha(results.zygote);
  const spawned = mecha(results.spawn);
  const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b ? a / b : null);
  return {
    config,
    otherLoadBeforeRounds: gates.map((g) => g.otherLoadCores),
    kernel,
    zygote,
    spawn: spawned,
    ratios: {
      cellP50: ratio(zygote.cell?.p50, kernel.cell?.p50),
      cellP90: ratio(zygote.cell?.p90, kernel.cell?.p90),
      createSpeedup: ratio(kernel.start?.p50, zygote.create?.p50),
      spawnCreateSpeedup: ratio(kernel.start?.p50, spawned.create?.p50),
      spawnCellP50: ratio(spawned.cell?.p50, kernel.cell?.p50),
    },
  };
}

const num = (value, digits = 1) =>
  typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";

/** The two headline lines, as the run prints them. */
export function sessionsHeadline(s) {
  if (!s || s.skipped) return [];
  const met = (ok) => (ok ? "target met" : "target MISSED");
  const { cellP50, createSpeedup } = s.ratios;
  return [
    `cell round trip: mecha ${num(s.zygote.cell?.p50, 2)} ms vs kernel ${num(s.kernel.cell?.p50, 2)} ms (${num(cellP50, 2)}×; p90 ${num(s.zygote.cell?.p90, 2)} vs ${num(s.kernel.cell?.p90, 2)} ms) — ${met(cellP50 !== null && cellP50 <= SESSION_TARGETS.cellRatio)}: no slower than the kernel`,
    `create: mecha ${num(s.zygote.create?.p50)} ms vs kernel start ${num(s.kernel.start?.p50)} ms (${num(createSpeedup)}×) — ${met(createSpeedup !== null && createSpeedup >= SESSION_TARGETS.createSpeedup)}: at least ${SESSION_TARGETS.createSpeedup}× faster`,
  ];
}

/** The report's sessions section (markdown lines). */
export function renderSessions(s) {
  const out = ["## Sessions against a Jupyter kernel", ""];
  if (!s) return [];
  if (s.skipped) return [...out, `Skipped: ${s.skipped}`, ""];
  const c = s.config;
  const v = s.kernel.versions;
  out.push(...sessionsHeadline(s).map((line) => `- **${line}**`), "");
  const row = (label, what, m, cpu, split = true) => [
    label,
    what,
    num(m?.p50, 2),
    num(m?.p90, 2),
    (m?.roundsP50 ?? []).map((x) => num(x, 2)).join(" / "),
    m?.n ?? 0,
    num(cpu?.clientMs, 2),
    !cpu
      ? "–"
      : split
        ? `${num(cpu.totalMs, 2)} (${num(cpu.serverMs, 2)} + ${num(cpu.childrenMs, 2)})`
        : num(cpu.totalMs, 2),
  ];
  const session = "`POST /sessions` → 201";
  const cellRun = "`x + 1`: `POST /sessions/{id}/runs`, JSON";
  const rows = [
    row("Jupyter kernel", "start → ready", s.kernel.start),
    row("mecha, zygote (default)", session, s.zygote.create, s.zygote.createCpu),
    row("mecha, spawn", session, s.spawn.create, s.spawn.createCpu),
    row("mecha, zygote (default)", "`DELETE /sessions/{id}` → 204", s.zygote.delete),
    row(
      "Jupyter kernel",
      "`x + 1`: execute_reply and idle",
      s.kernel.cell,
      s.kernel.cellCpu,
      false,
    ),
    row("mecha, zygote (default)", cellRun, s.zygote.cell, s.zygote.cellCpu),
    row("mecha, spawn", cellRun, s.spawn.cell, s.spawn.cellCpu),
  ];
  out.push(
    "| side | what | p50 ms | p90 ms | p50 per round | samples | client CPU ms | server CPU ms (Node + interpreter) / kernel CPU ms |",
    "|---|---|---:|---:|---|---:|---:|---:|",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `${c.rounds} rounds (the kernel first in odd rounds, Mecha first in even ones); each p50/p90 is the median of the rounds' own. ` +
      `Kernel: Jupyter's \`python3\` kernel (${v ? `Python ${v.python}, ipykernel ${v.ipykernel}, jupyter_client ${v.jupyter_client}` : "?"}), no sandbox, driven by [\`kernel_anchor.py\`](../kernel_anchor.py) with \`KernelManager\` and \`BlockingKernelClient\`: ${c.kernelStarts} start${c.kernelStarts === 1 ? "" : "s"} per round (\`start_kernel()\` until \`wait_for_ready()\`), and ${c.cells} cells of \`x + 1\` after \`x = 1\` and ${c.warmup} unmeasured ones, each from \`execute()\` until its execute_reply and its idle status. ` +
      `Mecha: \`mecha-server --sandbox required\` with its defaults (and with \`--startup spawn\`), a new server per round, requests on one keep-alive connection from Node's \`http\`; ${c.creates} sessions opened per round (${Math.ceil(c.creates / 2)} with spawn) after two unmeasured, each deleted before the next; ${c.cells} cells (${Math.ceil(c.cells / 2)} with spawn) in one session after \`x = 1\` and ${c.warmup} unmeasured ones, each answer checked (succeeded, session kept, \`2\` displayed). ` +
      `CPU, median over rounds, per operation: Mecha's from its cgroup (the Node process + its children: zygote, interpreters; a create's includes its DELETE), the kernel's from \`/proc\` of the kernel process; the client's is the bench process's own (Node) or \`kernel_anchor.py\`'s. Other processes used ${s.otherLoadBeforeRounds.map((x) => num(x, 2)).join(" / ")} cores before the rounds.`,
    "",
  );
  return out;
}
