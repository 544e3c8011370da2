import { execFile } from "node:child_process";
import { existsSync } from "node:fs";

/** A resolved interpreter: its real executable, version and installation prefix. */
export interface PythonInterpreter {
  executable: string;
  version: string;
  /** `sys.base_prefix`: must be readable inside a sandbox. */
  prefix: string;
  /** `sys.prefix`: a virtual environment's own directory (the same as `prefix` outside one). */
  environment: string;
  /** Where it imports from (`sys.path` without the script's directory): readable in a sandbox too. */
  paths: string[];
}

const PROBE = [
  "import sys, json",
  "print(json.dumps([sys.executable, sys.version.split()[0], sys.base_prefix, sys.prefix,",
  "                  [p for p in sys.path if p]]))",
].join("\n");

/** PATH, and on Windows what CPython cannot start without (none of it secret). */
function probeEnvironment(platform: NodeJS.Platform = process.platform): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  if (platform === "win32") {
    // The py launcher's own choice of version (PY_PYTHON, PY_PYTHON3) too, so that `py -3`
    // picks the Python the user's own `py` does.
    for (const key of ["SYSTEMROOT", "WINDIR", "TEMP", "TMP", "PY_PYTHON", "PY_PYTHON3"]) {
      const value = process.env[key];
      if (value) env[key] = value;
    }
  }
  return env;
}

function probe(command: string, args: string[]): Promise<PythonInterpreter | null> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args, "-E", "-s", "-c", PROBE],
      { timeout: 10_000, windowsHide: true, env: probeEnvironment() },
      (error, stdout) => {
        if (error) return resolve(null);
        let fields: unknown;
        try {
          fields = JSON.parse(stdout);
        } catch {
          return resolve(null);
        }
        if (!Array.isArray(fields)) return resolve(null);
        const [executable, version, prefix, environment, paths] = fields as unknown[];
        const strings = [executable, version, prefix, environment];
        if (!strings.every((value) => typeof value === "string" && value)) return resolve(null);
        if (!/^3\./.test(version as string) || !Array.isArray(paths)) return resolve(null);
        resolve({
          executable: executable as string,
          version: version as string,
          prefix: prefix as string,
          environment: environment as string,
          paths: paths.filter((path): path is string => typeof path === "string"),
        });
      },
    );
  });
}

/** The interpreters tried, in order, when none is configured. */
export function pythonCandidates(platform: NodeJS.Platform = process.platform): string[][] {
  if (platform === "win32") return [["py", "-3"], ["python"], ["python3"]];
  // The distribution's own python3 first: a version-manager shim on PATH can cost ~90 ms a start.
  const system = ["/usr/bin/python3", "/usr/local/bin/python3", "/opt/homebrew/bin/python3"].filter(
    (path) => existsSync(path),
  );
  return [...system.map((path) => [path]), ["python3"], ["python"]];
}

/**
 * Finds a working Python 3 and resolves it once to its real executable (asking it for
 * `sys.executable`), so each run starts the interpreter directly. A configured interpreter is one
 * path, spaces and all (`C:\\Program Files\\Python312\\python.exe`), never split into words.
 */
export async function findPython(
  configured?: string,
  platform: NodeJS.Platform = process.platform,
): Promise<PythonInterpreter> {
  if (configured !== undefined) {
    if (platform === "win32" && /\.(bat|cmd)$/i.test(configured)) {
      // Node starts no batch file without a shell (EINVAL since 20.12.2), and a run's
      // interpreter is started without one.
      throw new Error(
        `The configured interpreter ${JSON.stringify(configured)} is a batch file (a version ` +
          "manager's shim, such as pyenv-win's python.bat), which Mecha cannot start without a " +
          "shell. Point the `python` option (--python) at the python.exe it runs (`py -0p` or " +
          "`pyenv which python` prints its path).",
      );
    }
    const found = await probe(configured, []);
    if (found) return found;
    throw new Error(
      existsSync(configured)
        ? `The configured interpreter ${JSON.stringify(configured)} is not a working Python 3 ` +
            "(it did not run `import sys` and report a 3.x version). Point the `python` option " +
            "(--python) at a python3 executable."
        : `The configured interpreter ${JSON.stringify(configured)} does not exist. Point the ` +
            "`python` option (--python) at a python3 executable, or leave it out to use the system's.",
    );
  }
  const tried: string[] = [];
  for (const [command, ...args] of pythonCandidates(platform)) {
    if (!command) continue;
    tried.push([command, ...args].join(" "));
    const found = await probe(command, args);
    if (found) return found;
  }
  throw new Error(
    `No working Python 3 interpreter found (tried: ${tried.join(", ")}). ` +
      "Install Python 3 or pass its path with the `python` option (--python on the CLI).",
  );
}
