import { availableParallelism } from "node:os";
import type { RunResult } from "@mecha/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler } from "../src/createHandler";
import { findBwrap } from "../src/runtime/sandbox";
import { run } from "./hostile/helpers";
import { target } from "./hostile/mode";

/**
 * The kernel's accounting adds up: a run's CPU time is what it used while its clock ran, never
 * more than its wall time on every core (what an interpreter spent getting ready before its
 * job, or being torn down after, is not the run's).
 */
const PROGRAMS: Record<string, { code: string; timeoutMs?: number }> = {
  "a fork bomb": {
    code: "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
    timeoutMs: 1000,
  },
  "eight spinning threads": {
    code: "import threading\ndef spin():\n    x = 0\n    for i in range(400_000):\n        x += i\nthreads = [threading.Thread(target=spin) for _ in range(8)]\nfor t in threads:\n    t.start()\nfor t in threads:\n    t.join()\nprint('done')",
  },
  "a CPU-bound loop": { code: "x = 0\nfor i in range(1_000_000):\n    x += i\nprint(x)" },
  "forked workers": {
    code: "import os\nfor _ in range(8):\n    pid = os.fork()\n    if pid == 0:\n        x = 0\n        for i in range(100_000):\n            x += i\n        os._exit(0)\n    os.waitpid(pid, 0)\nprint('ok')",
  },
  hello: { code: "print('hi')" },
};

const skipped = !findBwrap() && target.sandbox === "required";
describe.skipIf(skipped)("CPU time as the kernel counts it", { timeout: 60_000 }, () => {
  const handler = createHandler({ sandbox: target.sandbox, logger: false });
  afterAll(() => handler.close());
  const cores = availableParallelism();

  it.each(Object.entries(PROGRAMS))(
    "%s never uses more than its wall time on every core",
    async (_, program) => {
      for (let i = 0; i < 3; i++) {
        const result: RunResult = await run(handler, {
          code: program.code,
          limits: { timeoutMs: program.timeoutMs ?? 20_000 },
        });
        expect(["succeeded", "timed_out"]).toContain(result.status);
        expect(result.cpuTimeMs).not.toBeNull();
        expect(result.cpuTimeMs!, JSON.stringify(result)).toBeLessThanOrEqual(
          result.durationMs * cores + 1,
        );
      }
    },
  );
});
