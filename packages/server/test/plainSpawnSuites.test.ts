/**
 * The spawn start-up path without the sandbox (`sandbox: "none"`, `startup: "spawn"`: a fresh
 * interpreter per run, without namespaces; on Linux with no_new_privs and the seccomp filter)
 * under the gates of the other paths: the hostile-program suite and the CPython-equivalence
 * suites, with every handler they create spawning its runs. A hostile case that holds only in
 * the sandbox is left out with its reason printed (see test/hostile/mode.ts).
 */
import { vi } from "vitest";
import { target } from "./hostile/mode";

vi.mock("../src/createHandler", async (importOriginal) =>
  (await import("./support/spawnStartup")).spawnByDefault(await importOriginal()),
);

target.sandbox = "none";
target.startup = "spawn";
if (process.platform === "linux") {
  await import("./hostile.cases");
  await import("./programs.cases");
  await import("./cpython.cases");
} else {
  console.warn(
    `SKIPPED: the spawn path without the sandbox is tested on Linux; this is ${process.platform}.`,
  );
}
