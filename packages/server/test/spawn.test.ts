/**
 * The spawn start-up path (`startup: "spawn"`: bubblewrap and a fresh interpreter per run) under
 * the same gates as the default zygote path (test/zygote.test.ts): the whole hostile-program
 * suite (with the plumbing around a run: the cases in test/hostile/) and the CPython-equivalence
 * suite, with every handler they create spawning its runs.
 */
import { vi } from "vitest";
import { target } from "./hostile/mode";

vi.mock("../src/createHandler", async (importOriginal) =>
  (await import("./support/spawnStartup")).spawnByDefault(await importOriginal()),
);

target.startup = "spawn";
await import("./hostile.cases");
await import("./programs.cases");
await import("./accounting.cases");
await import("./cpython.cases");
(await import("./hostile/plumbing.cases")).plumbingCases("spawn");
(await import("./hostile/kernelShares.cases")).kernelShareCases("spawn");
(await import("./hostile/inheritedDescriptors.cases")).inheritedDescriptorCases("spawn");
(await import("./packages/everyday.cases")).everydayCases("spawn");
(await import("./packages/displays.cases")).displayCases("spawn");
(await import("./packages/environment.cases")).environmentCases("spawn");
(await import("./packages/files.cases")).fileCases("spawn");
(await import("./sessions/sessions.cases")).sessionCases("spawn");
