// Renders a benchmark report (the object written to latest.json) as markdown.
import { renderPackages } from "./packages.mjs";
import { renderSessions } from "./sessions.mjs";

const num = (value, digits = 1) =>
  typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
const times = (value) => (typeof value === "number" ? `${value.toFixed(2)}×` : "–");
const mib = (kb) => (typeof kb === "number" ? `${(kb / 1024).toFixed(1)}` : "–");
/** A memory reading's two cells: the server, and its descendants with their count. */
const memoryCells = (reading) =>
  reading
    ? [mib(reading.serverKb), `${mib(reading.descendantsKb)} (${reading.descendants})`]
    : ["–", "–"];

function table(header, rows) {
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_h, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
  ];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

function failures(...results) {
  let count = 0;
  for (const r of results) {
    if (!r) continue;
    count += (r.errors ?? 0) + (r.non2xx ?? 0) + (r.mismatches ?? 0);
  }
  return count;
}

export function renderMarkdown(report) {
  const { machine, config, targets, profile, notes } = report;
  const list = Object.values(targets);
  const out = [];
  out.push(`# Mecha benchmark — ${report.date.slice(0, 16).replace("T", " ")} UTC`);
  out.push("");
  out.push(
    `${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, ${machine.python ?? "python3 ?"}, ${machine.bwrap ?? "no bwrap"}, Flask ${machine.flask ?? "not installed"}, autocannon ${machine.autocannon}. ` +
      (list.length > 0
        ? `Program \`print("hi")\` via \`POST /execute\`; ${config.durationS} s per measurement in ${config.rounds} rounds (each round starts every target in turn, alone, warms it up for ${config.warmupS} s, measures, and stops it). `
        : "") +
      `Other processes used ${num(config.otherLoadBeforeCores, 2)} cores just before the run (load average at the end: ${config.loadAverageAtEnd.join(" ")}). Run took ${report.durationS} s.`,
  );
  out.push("");
  if (machine.git?.commit) {
    const changes = machine.git.serverChanges ?? [];
    out.push(
      `Measured: commit ${machine.git.commit}${changes.length ? `, with uncommitted server changes in the build (${changes.join(", ")})` : ", server sources as committed"}.`,
    );
    out.push("");
  }
  if (list.length > 0) out.push(...targetSections(report));

  if (profile) {
    out.push("## Where a Mecha run's time goes");
    out.push("");
    out.push(
      `Median of sequential in-process runs of \`print("hi")\` through the server's own runtime (its injectable spawner timestamps each step; no HTTP; 100 ms between runs so a pool can refill).`,
    );
    out.push("");
    for (const [label, p] of Object.entries(profile.runs)) {
      if (!p || p.failed) {
        out.push(`- ${label}: ${p?.failed ?? "not measured"}`);
        continue;
      }
      const ahead =
        p.pooled && typeof p.aheadMs === "number"
          ? `; the interpreter had been prepared ahead, off the request path (${num(p.aheadMs)} ms from spawn to ready)`
          : "";
      out.push(
        `**${label}** (${p.isolation}, ${p.pooled ? `warm interpreter in ${p.warmRuns} of ${p.runs} runs` : "interpreter started per run"}): **${num(p.totalMs)} ms** from start to result over ${p.runs} runs; CPU time charged to the run's cgroup ${num(p.cpuTimeMs)} ms${ahead}.`,
      );
      out.push("");
      out.push(
        table(
          ["step", "ms (median)"],
          p.steps.map((step) => [step.label, num(step.ms, 2)]),
        ),
      );
      out.push("");
    }
    if (profile.floors) {
      out.push("Bare spawns from Node (uid 65534, median):");
      out.push("");
      out.push(
        table(
          ["command", "ms"],
          profile.floors.map((row) => [`\`${row.label}\``, num(row.ms, 2)]),
        ),
      );
      out.push("");
    }
  }

  if (report.scaleOut) out.push(...scaleOutSection(report.scaleOut));
  if (report.sessions) out.push(...renderSessions(report.sessions));

  out.push("## Notes");
  out.push("");
  if (notes.length === 0)
    out.push("- No errors, timeouts, non-2xx answers or wrong outputs; no measurement disturbed.");
  for (const note of notes) out.push(`- ${note}`);
  out.push("");
  return `${out.join("\n")}\n`;
}

/** The sections on the targets measured side by side: latency, CPU, bursts, packages, memory. */
function targetSections(report) {
  const { config, targets, ratios } = report;
  const list = Object.values(targets);
  const measured = list.filter((t) => t.latency);
  const out = [];
  out.push("## Latency and throughput");
  out.push("");
  out.push(
    table(
      [
        "target",
        "p50 ms (1 conn)",
        "p99 ms (1 conn)",
        "req/s (10 conn)",
        "p50 ms (10 conn)",
        "p99 ms (10 conn)",
        "CPU ms/req (server + children)",
        "p50 vs Flask",
        "req/s vs Flask",
        "req/s per round",
        "failed requests",
        "other load (cores)",
      ],
      list.map((t) => {
        if (!t.latency)
          return [
            t.key,
            `skipped: ${t.skipped ?? t.failed ?? "?"}`,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
          ];
        const vs = ratios.vsFlask[t.key];
        const L = t.latency;
        const T = t.throughput;
        return [
          t.key,
          num(L.p50Ms),
          num(L.p99Ms),
          num(T?.rps),
          num(T?.p50Ms),
          num(T?.p99Ms),
          T
            ? `${num(T.cpuMsPerRequest)} (${num(T.serverCpuMsPerRequest)} + ${num(T.childCpuMsPerRequest)})`
            : "–",
          times(vs?.p50),
          times(vs?.rps),
          (t.throughputRounds ?? []).map((r) => num(r.rps, 0)).join(" / "),
          `${failures(L, T)} of ${(L.requests ?? 0) + (T?.requests ?? 0)}`,
          `${num(L.otherLoadCores, 2)} / ${num(T?.otherLoadCores, 2)}`,
        ];
      }),
    ),
  );
  out.push("");
  const s = ratios.sandboxVsNone;
  if (s) {
    out.push(
      `**Sandbox on vs off** (mecha-sandbox ÷ mecha-none): p50 ${times(s.p50)} (${s.p50AddedMs >= 0 ? "+" : ""}${num(s.p50AddedMs)} ms), p99 ${times(s.p99)}, req/s ${times(s.rps)}, CPU per request ${times(s.cpuMsPerRequest)}; ` +
        `CPU-heavy p50 ${times(s.cpuHeavyP50)}, 1 MiB output p50 ${times(s.mibOutputP50)}, 50-run burst wall ${times(s.burst50Wall)}, streaming p50 ${times(s.streamingP50)}.`,
    );
    out.push("");
  }
  const floor = ratios.vsSpawnFloor;
  if (Object.keys(floor).length) {
    out.push(
      `**vs the spawn floor**: ${Object.entries(floor)
        .filter(([key]) => key !== "spawn-floor")
        .map(([key, r]) => `${key} p50 ${times(r.p50)}, req/s ${times(r.rps)}`)
        .join("; ")}.`,
    );
    out.push("");
  }
  out.push(
    "p50/p99 are over every 2xx response of the run (autocannon's response times). req/s counts only verified responses (right status and output). " +
      "CPU ms/req = CPU time of the target's whole process tree (the server and everything it starts: bwrap, interpreters) during the 10-connection runs ÷ verified responses, from a cpuacct cgroup the target is started in. " +
      "Other load = CPU used by every other process on the machine during the 1- and 10-connection runs (other users, and kernel threads, including namespace teardown done on a target's behalf).",
  );
  out.push("");

  const checked = list.filter((t) => t.isolationSeen);
  if (checked.length > 0) {
    out.push("### Isolation a program sees (checked before measuring)");
    out.push("");
    out.push(
      table(
        [
          "target",
          "server reports",
          "pid",
          "seccomp mode",
          "effective capabilities",
          "reaches the server's port",
          "sandboxed",
        ],
        checked.map((t) => {
          const seen = t.isolationSeen;
          if (seen.error)
            return [t.key, t.health?.isolation ?? "–", `failed: ${seen.error}`, "", "", "", "no"];
          return [
            t.key,
            t.health?.isolation ?? "–",
            seen.pid,
            seen.seccomp,
            seen.capabilities,
            seen.reachesServer ? "yes" : "no",
            seen.sandboxed ? "yes" : "no",
          ];
        }),
      ),
    );
    out.push("");
    out.push(
      "A program run through `POST /execute` prints its pid (1 is its pid namespace's init), its seccomp mode (2: a filter) and effective capabilities from `/proc/self/status`, and tries to connect to the server's own port on 127.0.0.1. Sandboxed = a pid of 3 or less, a seccomp filter, no capabilities and no way to the server.",
    );
    out.push("");
  }

  out.push("### CPU per verified request (10-connection run)");
  out.push("");
  out.push(
    table(
      [
        "target",
        "total ms",
        "server process ms",
        "children ms",
        "user ms",
        "system ms",
        "accounted by",
      ],
      measured
        .filter((t) => t.throughput)
        .map((t) => {
          const T = t.throughput;
          return [
            t.key,
            num(T.cpuMsPerRequest),
            num(T.serverCpuMsPerRequest),
            num(T.childCpuMsPerRequest),
            num(T.userCpuMsPerRequest),
            num(T.sysCpuMsPerRequest),
            T.cpuSource === "cpuacct" ? "cgroup cpuacct" : "/proc (reaped children only)",
          ];
        }),
    ),
  );
  out.push("");
  out.push(
    "On 2 cores, 2000 ms of CPU per second ÷ total ms per request is the ceiling on req/s for that target. Kernel work done outside the target's processes (e.g. network-namespace teardown in kworkers, cgroup release) is not in these numbers.",
  );
  out.push("");
  out.push("## Heavier programs and bursts");
  out.push("");
  out.push(
    table(
      [
        "target",
        "CPU-heavy p50 ms",
        "1 MiB output p50 ms",
        "50 concurrent: wall ms",
        "per-run p50 ms",
        "per-run p99 ms",
        "per-run max ms",
        "failed",
      ],
      measured.map((t) => [
        t.key,
        num(t.cpuHeavy?.p50Ms),
        num(t.mibOutput?.p50Ms),
        num(t.burst50?.wallMs),
        num(t.burst50?.perRunP50Ms),
        num(t.burst50?.perRunP99Ms),
        num(t.burst50?.perRunMaxMs),
        `${failures(t.cpuHeavy, t.mibOutput, t.burst50)} of ${(t.cpuHeavy?.requests ?? 0) + (t.mibOutput?.requests ?? 0) + (t.burst50?.sent ?? 0)}`,
      ]),
    ),
  );
  out.push("");
  out.push(
    'CPU-heavy: `print(sum(i * i for i in range(3_000_000)))`, 8 sequential runs. 1 MiB output: `sys.stdout.write("x" * 1048576)`, 10 sequential runs (Mecha via `POST /runs` with `limits.outputBytes` 2 MiB, its default cap being exactly 1 MiB). ' +
      '50 concurrent: 50 connections each sending one `print("hi")` at once, 3 rounds; wall = first request to last answer (median round). Mecha runs at most `maxConcurrent` (4 here) at once and queues the rest (`--max-queued 64`; the default queue of 16 would answer 30 of the 50 with 503 busy).',
  );
  out.push("");

  out.push(...renderPackages(report));

  const streamed = measured.filter((t) => t.streaming);
  if (streamed.length) {
    out.push("## Streaming: print → client");
    out.push("");
    out.push(
      table(
        ["target", "how output arrives", "runs", "p50 ms", "p90 ms", "min ms", "max ms", "failed"],
        streamed.map((t) => [
          t.key,
          t.streaming.mode,
          t.streaming.runs,
          num(t.streaming.p50Ms, 2),
          num(t.streaming.p90Ms, 2),
          num(t.streaming.minMs, 2),
          num(t.streaming.maxMs, 2),
          t.streaming.failures,
        ]),
      ),
    );
    out.push("");
    out.push(
      "The program prints `time.time()` and sleeps 1 s; the delay is the client's clock (same machine) at the arrival of the first `stdout` event minus the printed time.",
    );
    out.push("");
  }

  out.push("## Memory (RSS, MiB)");
  out.push("");
  out.push(
    table(
      [
        "target",
        "after start-up: server",
        "+ descendants",
        "after load: server",
        "+ descendants",
        "once idle: server",
        "+ descendants",
        "start-up ms",
        "first request ms",
      ],
      list
        .filter((t) => t.memoryIdle)
        .map((t) => [
          t.key,
          ...memoryCells(t.memoryIdle),
          ...memoryCells(t.memoryAfterLoad),
          ...memoryCells(t.memorySettled),
          num(t.startupMs, 0),
          num(t.firstRequestMs),
        ]),
    ),
  );
  out.push("");
  out.push(
    `Descendants are summed from /proc (count in brackets); "after load" is 2 s after the last request, "once idle" (Mecha only) ${config.settleS ?? "–"} s after it: V8 keeps a heap grown under load until it has been idle a while, then gives it back. Start-up: from spawn to the \`listening on\` line. First request: the first \`print("hi")\` the idle server answers, 1 s after start-up.`,
  );
  out.push("");
  return out;
}

/** The scale-out section: the Redis path against in-process, one runner against two. */
function scaleOutSection(scale) {
  const out = ["## Scale-out on Redis", ""];
  if (scale.skipped) return [...out, `Skipped: ${scale.skipped}`, ""];
  const base = scale["in-process"];
  const one = scale["redis-1"];
  out.push(
    `Sandbox on everywhere. CPU per run is every process of the deployment together (redis-server, the API instance, the runners with their zygotes and runs). Throughput at ${base?.connections ?? "?"} connections.`,
  );
  out.push("");
  out.push(
    table(
      [
        "deployment",
        "p50 ms (1 conn)",
        "p99 ms (1 conn)",
        "CPU ms/run (1 conn)",
        "req/s",
        "CPU ms/run",
        "req/s per round",
      ],
      Object.values(scale).map((row) => [
        row.title,
        num(row.p50Ms, 2),
        num(row.p99Ms, 2),
        num(row.cpuMsPerRunAt1, 2),
        num(row.rps),
        num(row.cpuMsPerRun, 2),
        (row.roundsRps ?? []).map((rps) => num(rps)).join(" / "),
      ]),
    ),
  );
  out.push("");
  if (base && one) {
    out.push(
      `The Redis path adds ${num(one.p50Ms - base.p50Ms, 2)} ms to the p50 and ${num(one.cpuMsPerRun - base.cpuMsPerRun, 2)} ms of CPU per run; two runner processes give ${times(scale["redis-2"]?.rps / one.rps)} the throughput of one.`,
    );
    out.push("");
  }
  return out;
}
