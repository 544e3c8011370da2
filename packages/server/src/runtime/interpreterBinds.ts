import { existsSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import type { PythonInterpreter } from "./findPython";
import { isWithin, SANDBOX_BOOTSTRAP_DIR, SANDBOX_WORKDIR, SYSTEM_DIRS } from "./sandbox";

/** Where a sandbox has its own directories: nothing of the host's is seen there. */
const SANDBOX_OWN = ["/tmp", "/dev", "/proc", "/etc", SANDBOX_WORKDIR, SANDBOX_BOOTSTRAP_DIR];

/**
 * What the sandbox binds read-only for the interpreter beyond the system directories and its
 * installation prefix: a virtual environment's own directory (`sys.prefix`) and every directory
 * it imports from (`sys.path`, `.pth` additions included), each at its own path. An environment
 * where the sandbox has its own directories (a virtual environment under /tmp) cannot run there:
 * that is an error; an import directory there is left out, with a warning.
 */
export function interpreterBinds(
  interpreter: PythonInterpreter,
  warn: (message: string) => void,
): [string, string][] {
  const covered = (path: string) =>
    isWithin(path, interpreter.prefix) || SYSTEM_DIRS.some((dir) => isWithin(path, dir));
  const found: string[] = [];
  for (const raw of [interpreter.environment, ...interpreter.paths]) {
    if (!isAbsolute(raw)) continue;
    const path = normalize(raw).replace(/\/+$/, "") || "/";
    if (path === "/" || covered(path) || !existsSync(path)) continue;
    const own = SANDBOX_OWN.find((dir) => isWithin(path, dir));
    if (own) {
      if (raw === interpreter.environment) {
        throw new Error(
          `Mecha: the Python environment ${path} is under ${own}, which every sandboxed run has ` +
            "a fresh one of its own: create the virtual environment elsewhere (e.g. under /opt) " +
            "and pass its bin/python with --python.",
        );
      }
      warn(
        `Mecha: ${interpreter.executable} imports from ${path}, under ${own}: sandboxed runs ` +
          `have their own ${own}, so nothing there can be imported.`,
      );
      continue;
    }
    found.push(path);
  }
  const unique = [...new Set(found)].sort();
  return unique
    .filter((path) => !unique.some((other) => other !== path && isWithin(path, other)))
    .map((path) => [path, path]);
}
