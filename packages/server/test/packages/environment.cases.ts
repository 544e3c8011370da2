/**
 * The environment programs with packages get: what GET /runtimes lists, a virtual environment
 * passed as the interpreter, memory limits and threads that let numpy, pandas and matplotlib
 * work, preloaded modules that leak nothing from one run to the next, and a sandbox that says it
 * has no network and no pip. Run on both start-up paths.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HealthResponse, RuntimeDescription } from "@mecha/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { linesWith, run } from "../hostile/helpers";
import { getJson, hasBwrap, hasPackages, PRELOAD, PYTHON } from "./helpers";

/** What importlib.metadata says of Debian's python3 directly. */
function debianVersions(names: string[]): Record<string, string> {
  const out = spawnSync(PYTHON, [
    "-c",
    `import json, importlib.metadata as m; print(json.dumps({n: m.version(n) for n in ${JSON.stringify(names)}}))`,
  ]);
  return JSON.parse(out.stdout.toString());
}

/**
 * A virtual environment seeing Debian's packages, with one package of its own written into it
 * (no network here): outside /tmp, which every sandboxed run has its own of.
 */
function makeVenv(): { dir: string; python: string; remove(): void } {
  const dir = mkdtempSync(join("/var/tmp", "mecha-venv-"));
  chmodSync(dir, 0o755);
  const made = spawnSync(PYTHON, ["-m", "venv", "--system-site-packages", "--without-pip", dir]);
  if (made.status !== 0) throw new Error(`venv: ${made.stderr.toString()}`);
  const python = join(dir, "bin", "python");
  const site = spawnSync(python, [
    "-c",
    "import sysconfig; print(sysconfig.get_paths()['purelib'])",
  ])
    .stdout.toString()
    .trim();
  mkdirSync(join(site, "tinypkg"), { recursive: true });
  writeFileSync(join(site, "tinypkg", "__init__.py"), "VALUE = 42\n");
  mkdirSync(join(site, "tinypkg-0.3.1.dist-info"));
  writeFileSync(
    join(site, "tinypkg-0.3.1.dist-info", "METADATA"),
    "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.3.1\n",
  );
  // A module that starts a thread as it is imported: never one to preload.
  writeFileSync(
    join(site, "threadystart.py"),
    "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n",
  );
  return { dir, python, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function environmentCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap || !hasPackages)(
    `packages in the sandbox (${startup})`,
    { timeout: 60_000 },
    () => {
      const handler = createHandler({
        sandbox: "required",
        startup,
        preload: PRELOAD,
        logger: false,
      });
      let venv: ReturnType<typeof makeVenv>;
      beforeAll(() => {
        venv = makeVenv();
      });
      afterAll(async () => {
        await handler.close();
        venv?.remove();
      });

      it("lists what a program can import in GET /runtimes, and displays and files in /health", async () => {
        const [runtime] = (await getJson(handler, "/runtimes")) as RuntimeDescription[];
        const versions = debianVersions(["numpy", "pandas", "matplotlib"]);
        for (const [name, version] of Object.entries(versions)) {
          expect(runtime?.packages).toContainEqual({ name, version });
        }
        const health = (await getJson(handler, "/health")) as HealthResponse;
        expect(health.features).toEqual(expect.arrayContaining(["displays", "files"]));
      });

      it("runs a virtual environment's interpreter with its own packages and the system's", async () => {
        const own = createHandler({
          sandbox: "required",
          startup,
          python: venv.python,
          logger: false,
        });
        try {
          const result = await run(own, {
            code: "import sys, tinypkg, numpy\nprint(tinypkg.VALUE, sys.prefix, numpy.__name__)",
          });
          expect(result.stdout, result.stderr).toBe(`42 ${venv.dir} numpy\n`);
          const [runtime] = (await getJson(own, "/runtimes")) as RuntimeDescription[];
          expect(runtime?.packages).toContainEqual({ name: "tinypkg", version: "0.3.1" });
          expect(runtime?.packages.map((entry) => entry.name)).toContain("numpy");
        } finally {
          await own.close();
        }
      });

      it("refuses to start with a module to preload that does not import or that starts a thread", async () => {
        const missing = createHandler({
          sandbox: "required",
          startup,
          preload: ["json", "no_such_module_mecha"],
          logger: false,
        });
        await expect(missing.ready()).rejects.toThrow(
          /cannot preload no_such_module_mecha \(ModuleNotFoundError: No module named 'no_such_module_mecha'\)/,
        );
        await missing.close();
        const threads = createHandler({
          sandbox: "required",
          startup,
          python: venv.python,
          preload: ["threadystart"],
          logger: false,
        });
        await expect(threads.ready()).rejects.toThrow(
          /cannot preload threadystart \(importing it leaves 1 thread\(s\) running\)/,
        );
        await threads.close();
        const inTmp = mkdtempSync(join(tmpdir(), "mecha-venv-"));
        spawnSync(PYTHON, ["-m", "venv", "--without-pip", inTmp]);
        const tmpVenv = createHandler({
          sandbox: "required",
          startup,
          python: join(inTmp, "bin", "python"),
          logger: false,
        });
        try {
          await expect(tmpVenv.ready()).rejects.toThrow(
            /is under \/tmp, which every sandboxed run/,
          );
        } finally {
          await tmpVenv.close();
          rmSync(inTmp, { recursive: true, force: true });
        }
      });

      const heavy = [
        "import os, threading",
        "import numpy as np, pandas as pd, matplotlib.pyplot as plt",
        "a = np.random.default_rng(1).random((300, 300))",
        "print(np.linalg.inv(a).shape, (a @ a).shape)",
        "df = pd.DataFrame({'k': np.arange(10000) % 10, 'v': np.arange(10000.0)})",
        "print(df.groupby('k').v.mean().iloc[:2].tolist())",
        "plt.plot(df.v[:100]); plt.savefig('p.png')",
        "print('threads', len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])",
      ].join("\n");

      it("imports and uses numpy, pandas and matplotlib under the default limits, on one BLAS thread", async () => {
        const result = await run(handler, { code: heavy });
        expect(result.status, result.stderr).toBe("succeeded");
        expect(result.stdout).toBe("(300, 300) (300, 300)\n[4995.0, 4996.0]\nthreads 1 1\n");
        expect(result.limits?.memoryMb).toBe(256);
      });

      it("imports them too without cgroups, where an address-space limit stands in", async () => {
        const plain = createHandler({
          sandbox: "required",
          startup,
          cgroups: false,
          logger: false,
        });
        try {
          const result = await run(plain, { code: heavy });
          expect(result.status, result.stderr).toBe("succeeded");
          expect(linesWith(result.stdout, "threads ")).toEqual(["1 1"]);
          const big = await run(plain, { code: "x = bytearray(2 * 1024 ** 3)" });
          expect(big.status).toBe("memory_exceeded");
        } finally {
          await plain.close();
        }
      });

      it("leaks no matplotlib, pandas or random state from one run to the next", async () => {
        const first = await run(handler, {
          code: [
            "import matplotlib.pyplot as plt, numpy as np, pandas as pd, random",
            "plt.style.use('ggplot')",
            "plt.rcParams['lines.linewidth'] = 7",
            "plt.figure(); plt.plot([1, 2])",
            "pd.set_option('display.max_rows', 5)",
            "print(np.random.rand(), random.random())",
          ].join("\n"),
        });
        expect(first.status, first.stderr).toBe("succeeded");
        const check = [
          "import matplotlib.pyplot as plt, numpy as np, pandas as pd, random",
          "print(plt.get_fignums(), plt.rcParams['lines.linewidth'], plt.rcParams['axes.facecolor'])",
          "print(pd.get_option('display.max_rows'))",
          "print(np.random.rand(), random.random())",
        ].join("\n");
        const second = await run(handler, { code: check });
        const third = await run(handler, { code: check });
        for (const result of [second, third]) {
          expect(result.status, result.stderr).toBe("succeeded");
          expect(result.stdout.split("\n").slice(0, 2)).toEqual(["[] 1.5 white", "60"]);
        }
        const draws = [first, second, third].map((result) =>
          result.stdout.trim().split("\n").at(-1),
        );
        expect(new Set(draws).size).toBe(3);
      });

      it("lets a program's own numpy.py win over the preloaded numpy", async () => {
        const result = await run(handler, {
          code: "import numpy\nprint(numpy.VALUE)",
          files: [{ path: "numpy.py", content: "VALUE = 'mine'\n" }],
        });
        expect(result.stdout, result.stderr).toBe("mine\n");
      });

      it("says the sandbox has no network and no pip, with the errors programs handle anyway", async () => {
        const code = [
          "import os, socket, subprocess, sys, urllib.error, urllib.request",
          "try:",
          "    socket.getaddrinfo('pypi.org', 443)",
          "except socket.gaierror as error:",
          "    print('lookup', error.errno, error)",
          "try:",
          "    urllib.request.urlopen('https://example.com/', timeout=5)",
          "except urllib.error.URLError as error:",
          "    print('urllib', error.reason)",
          "try:",
          "    socket.create_connection(('93.184.216.34', 80), timeout=5)",
          "except OSError as error:",
          "    print('connect', type(error).__name__, error.errno, 'no network' in str(error))",
          "print('local', socket.getaddrinfo('localhost', 80)[0][4])",
          "a, b = socket.socketpair()",
          "a.sendall(b'x')",
          "print('pair', b.recv(1))",
          "for command in ([sys.executable, '-m', 'pip', 'install', 'seaborn'], 'pip install requests'):",
          "    try:",
          "        subprocess.run(command, shell=isinstance(command, str), check=True)",
          "    except OSError as error:",
          "        print('pip', type(error).__name__, str(error).startswith('[Errno 1] pip cannot install packages in this sandbox: it has no network'))",
          "try:",
          "    import pip",
          "except ImportError as error:",
          "    print('import', type(error).__name__, error.name, 'cannot install packages' in str(error))",
          "urllib.request.urlopen('http://example.com/')",
        ].join("\n");
        const result = await run(handler, { code });
        expect(result.stdout.split("\n")).toEqual([
          "lookup -2 [Errno -2] this sandbox has no network: cannot look up 'pypi.org'",
          "urllib [Errno -2] this sandbox has no network: cannot look up 'example.com'",
          expect.stringMatching(/^connect (PermissionError 1|OSError 101) (True|False)$/),
          "local ('127.0.0.1', 80)",
          "pair b'x'",
          "pip PermissionError True",
          "pip PermissionError True",
          "import ModuleNotFoundError pip True",
          "",
        ]);
        expect(result.error?.type).toBe("urllib.error.URLError");
        expect(result.error?.message).toContain(
          "this sandbox has no network: cannot look up 'example.com'",
        );
      });
    },
  );
}
