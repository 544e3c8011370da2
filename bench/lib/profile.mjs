// Where a Mecha run's time goes: the server's own runtime, driven in-process through its
// injectable spawner, timestamps each step of a `print("hi")` run; plus bare spawns of the
// same interpreter (and of bubblewrap with Mecha's own arguments) for the floor under them.
import { spawn as nodeSpawn } from "node:child_process";
import { median } from "./load.mjs";

const HI = 'print("hi")';

function job(id) {
  return {
    id,
    code: HI,
    files: [],
    args: [],
    stdin: "",
    interactive: false,
    limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
  };
}

/**
 * Runs `count` sequential runs on a runtime in `mode` ("required" | "none") and returns the
 * median duration of each step, in ms, plus the arguments the runtime spawned with.
 * `warmPool` is passed to the runtime (0: every run starts its own interpreter on the request
 * path; undefined: the runtime's default). A run that got an interpreter started before it
 * began is "warm"; the profile then splits the request path from the work done ahead.
 */
export async function profileRuntime(
  createPythonRuntime,
  mode,
  count,
  { warmPool, whileOpen } = {},
) {
  let current = null;
  let lastSpawn = null;
  const spawner = (command, args, options) => {
    const marks = {};
    marks.spawnCall = performance.now();
    const child = nodeSpawn(command, args, options);
    marks.spawnReturn = performance.now();
    lastSpawn = { command, args: [...args], uid: options.uid };
    const stdio = child.stdio;
    if (stdio.length > 7 && stdio[6] && stdio[7]) {
      stdio[6].once("data", () => {
        marks.childPid ??= performance.now();
      });
      const block = stdio[7];
      const end = block.end.bind(block);
      block.end = (...rest) => {
        marks.released = performance.now();
        return end(...rest);
      };
    }
    const jobPipe = stdio[3];
    if (jobPipe) {
      const end = jobPipe.end.bind(jobPipe);
      jobPipe.end = (...rest) => {
        marks.jobSent = performance.now();
        // Runs are sequential: the job written now is the current run's.
        if (current) current.child = marks;
        return end(...rest);
      };
    }
    child.stdout?.once("data", () => {
      marks.firstOutput = performance.now();
    });
    child.once("exit", () => {
      marks.exit = performance.now();
    });
    return child;
  };

  const runtime = createPythonRuntime({
    sandbox: mode,
    // The spawn path: its steps are the ones this spawner can see.
    startup: "spawn",
    spawn: spawner,
    logger: quietLogger,
    ...(warmPool === undefined ? {} : { warmPool }),
  });
  const runs = [];
  try {
    const info = await runtime.info();
    for (let i = 0; i < count + 3; i++) {
      // Let a pool (if any) refill between runs, as it would between a user's runs.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const marks = {};
      current = marks;
      marks.start = performance.now();
      const program = runtime.start(job(`bench-profile-${process.pid}-${mode}-${i}`), {
        stdout() {},
        stderr() {},
        input() {},
      });
      const outcome = await program.done;
      marks.done = performance.now();
      current = null;
      if (outcome.status !== "succeeded") {
        throw new Error(`profile run ${mode} ${outcome.status}: ${outcome.stderr.slice(0, 300)}`);
      }
      marks.cpuTimeMs = outcome.cpuTimeMs;
      // The first runs warm the page cache and the JIT.
      if (i >= 3 && marks.child) runs.push(marks);
    }
    const warm = runs.filter((m) => m.child.spawnCall < m.start).length;
    const pooled = warm > runs.length / 2;
    const used = runs.filter((m) => m.child.spawnCall < m.start === pooled);
    const at = (m, key) => (key in m ? m[key] : m.child[key]);
    const step = (from, to) =>
      median(
        used.map((m) => {
          const a = at(m, from);
          const b = at(m, to);
          return a !== undefined && b !== undefined ? b - a : null;
        }),
      );
    const sandboxed = info.isolation === "sandbox";
    const tail = [
      [
        `first output → process exit (interpreter shutdown${sandboxed ? ", bwrap exit)" : ")"}`,
        step("firstOutput", "exit"),
      ],
      ["exit → result (kill group, cgroup sweep, pipes closed, usage read)", step("exit", "done")],
    ];
    let steps;
    if (pooled) {
      steps = [
        ["take a warm interpreter, set its memory limit, write the job", step("start", "jobSent")],
        [
          "bootstrap reads the job, writes main.py, runs it → first output",
          step("jobSent", "firstOutput"),
        ],
        ...tail,
      ];
    } else if (sandboxed) {
      steps = [
        ["prepare (uid, cgroup mkdir + limits)", step("start", "spawnCall")],
        [
          "spawn() call (fork + exec bwrap; blocks the event loop)",
          step("spawnCall", "spawnReturn"),
        ],
        ["bwrap: namespaces until the child pid is reported", step("spawnReturn", "childPid")],
        [
          "cgroup: move the child in (3 v1 hierarchies), release bwrap",
          step("childPid", "released"),
        ],
        ["memory limit set, job written", step("released", "jobSent")],
        [
          "bwrap mounts + seccomp + python start + bootstrap + code → first output",
          step("jobSent", "firstOutput"),
        ],
        ...tail,
      ];
    } else {
      steps = [
        [
          "prepare (uid, workdir mkdtemp + chown, cgroup mkdir + limits)",
          step("start", "spawnCall"),
        ],
        [
          "spawn() call (fork + exec python; blocks the event loop)",
          step("spawnCall", "spawnReturn"),
        ],
        [
          "cgroup: move the child in (3 v1 hierarchies), memory limit, job written (python is starting meanwhile)",
          step("spawnReturn", "jobSent"),
        ],
        ["rest of python start + bootstrap + code → first output", step("jobSent", "firstOutput")],
        ...tail,
      ];
    }
    // Bare spawns reuse the runtime's state directory (its /etc files), so run them now.
    const extra = whileOpen ? await whileOpen(lastSpawn) : undefined;
    return {
      extra,
      mode,
      warmPool: warmPool ?? "default",
      pooled,
      warmRuns: warm,
      isolation: info.isolation,
      python: info.version,
      runs: used.length,
      totalMs: step("start", "done"),
      aheadMs: pooled ? step("spawnCall", sandboxed ? "released" : "spawnReturn") : null,
      cpuTimeMs: median(used.map((m) => m.cpuTimeMs)),
      steps: steps.map(([label, ms]) => ({ label, ms })),
      spawned: lastSpawn,
    };
  } finally {
    await runtime.close();
  }
}

const quietLogger = { info() {}, debug() {}, warn() {}, error: console.error };

function timeSpawn(command, args, options) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = nodeSpawn(command, args, { stdio: "ignore", ...options });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${command} exited ${code}`));
      else resolve(performance.now() - start);
    });
  });
}

async function medianOf(count, fn) {
  const times = [];
  for (let i = 0; i < count + 2; i++) {
    const ms = await fn();
    if (i >= 2) times.push(ms);
  }
  return median(times);
}

/** Drops bubblewrap options that need fds only the runtime holds (info, block, seccomp). */
function standaloneBwrapArgs(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (["--info-fd", "--block-fd", "--seccomp"].includes(args[i])) {
      i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/**
 * Bare start-up costs: the interpreter alone, with Mecha's flags, and under bubblewrap with
 * the exact arguments Mecha used (less its fds), all as an unprivileged uid like Mecha's runs.
 */
export async function spawnFloors(python, bwrapSpawn, count) {
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const env = { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" };
  const rows = [];
  rows.push({
    label: `${python} -E -s -c pass`,
    ms: await medianOf(count, () =>
      timeSpawn(python, ["-E", "-s", "-c", "pass"], { env, ...asUser }),
    ),
  });
  rows.push({
    label: `${python} -E -s -u -c 'print("hi")'`,
    ms: await medianOf(count, () =>
      timeSpawn(python, ["-E", "-s", "-u", "-c", HI], { env, ...asUser }),
    ),
  });
  rows.push({
    label: `${python} -I -S -c pass (no site module)`,
    ms: await medianOf(count, () =>
      timeSpawn(python, ["-I", "-S", "-c", "pass"], { env, ...asUser }),
    ),
  });
  if (bwrapSpawn) {
    const base = standaloneBwrapArgs(bwrapSpawn.args);
    rows.push({
      label: "bwrap (Mecha's namespaces and mounts) -- /bin/true",
      ms: await medianOf(count, () =>
        timeSpawn(bwrapSpawn.command, [...base, "--", "/bin/true"], { env: {}, ...asUser }),
      ),
    });
    rows.push({
      label: "bwrap (Mecha's namespaces and mounts) -- python3 -E -s -c pass",
      ms: await medianOf(count, () =>
        timeSpawn(bwrapSpawn.command, [...base, "--", python, "-E", "-s", "-c", "pass"], {
          env: {},
          ...asUser,
        }),
      ),
    });
    const noNet = base.filter((arg) => arg !== "--unshare-net");
    rows.push({
      label: "same, without --unshare-net (no network namespace)",
      ms: await medianOf(count, () =>
        timeSpawn(bwrapSpawn.command, [...noNet, "--", python, "-E", "-s", "-c", "pass"], {
          env: {},
          ...asUser,
        }),
      ),
    });
  }
  rows.push({
    label: "/bin/true (fork + exec floor from this Node process)",
    ms: await medianOf(count, () => timeSpawn("/bin/true", [], { env, ...asUser })),
  });
  return rows;
}
