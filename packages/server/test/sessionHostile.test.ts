/**
 * The hostile-program suite (test/hostile.cases.ts) with every program run inside a session
 * (test/sessions/inSessions.ts): on the zygote path as the program's first run in its session,
 * and on the spawn path after a cell that imported modules and defined state, with the same
 * containment as single runs. Streaming runs and runs with arguments go through as single runs
 * (their session counterparts are in test/sessions/sessions.cases.ts).
 */
import { vi } from "vitest";
import { runMode } from "./hostile/mode";
import { inSessions } from "./sessions/inSessions";

const WARM_UP = "import os, sys, json\nstate = {'cells': 1}\nstate";

vi.mock("../src/createHandler", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/createHandler")>();
  let made = 0;
  return {
    ...actual,
    createHandler: (options: Parameters<typeof actual.createHandler>[0] = {}) => {
      // Alternate the start-up paths, warming every other session up first.
      const spawn = made++ % 2 === 1;
      return inSessions(
        actual.createHandler({ startup: spawn ? "spawn" : "zygote", ...options }),
        spawn ? WARM_UP : undefined,
      );
    },
  };
});

runMode.inSessions = true;
await import("./hostile.cases");
