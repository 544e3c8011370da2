/**
 * Case 14 of the hostile suite (test/hostile.cases.ts): twenty hostile programs at once, each
 * contained as it would be alone, and the server healthy after them.
 */

import { expect } from "vitest";
import { marker, run, sleepMarker } from "./helpers";
import { parentKillable, sessionRules } from "./mode";
import {
  bigAllocation,
  cpuSpinner,
  diskFill,
  doubleForkDaemon,
  forkBomb,
  forkedAllocation,
  gradualAllocation,
  outputFlood,
  shellForkBomb,
  sleeper,
  termIgnorers,
} from "./programs";
import type { HostileSuite } from "./suite";

export function mixedLoadCases(suite: HostileSuite): void {
  suite.it("14. twenty hostile runs at once are all contained", async () => {
    type Case = {
      name: string;
      body: Parameters<typeof run>[1];
      expect: string[];
      markers: string[];
    };
    const cases: Case[] = [];
    for (let i = 0; i < 2; i++) {
      const mark = marker("mecha-c14-fork");
      cases.push({
        name: "fork bomb",
        body: { code: forkBomb(mark), limits: { timeoutMs: 3_000 } },
        expect: ["timed_out", "failed"],
        markers: [mark],
      });
    }
    {
      const mark = marker("mecha-c14-shell");
      cases.push({
        name: "shell bomb",
        body: { code: shellForkBomb(mark), limits: { timeoutMs: 3_000 } },
        expect: ["timed_out", "failed"],
        markers: [mark],
      });
    }
    for (let i = 0; i < 2; i++) {
      const sleep = sleepMarker();
      cases.push({
        name: "big allocation",
        body: { code: bigAllocation(sleep), limits: { memoryMb: 128, timeoutMs: 10_000 } },
        expect: ["memory_exceeded"],
        markers: [sleep],
      });
    }
    {
      const sleep = sleepMarker();
      cases.push({
        name: "gradual allocation",
        body: { code: gradualAllocation(sleep), limits: { memoryMb: 128, timeoutMs: 10_000 } },
        expect: ["memory_exceeded"],
        markers: [sleep],
      });
    }
    {
      const mark = marker("mecha-c14-forkmem");
      cases.push({
        name: "forked allocation",
        body: { code: forkedAllocation(mark), limits: { memoryMb: 128, timeoutMs: 10_000 } },
        expect: ["memory_exceeded"],
        markers: [mark],
      });
    }
    for (let i = 0; i < 2; i++) {
      const sleep = sleepMarker();
      cases.push({
        name: "output flood",
        body: { code: outputFlood(sleep), limits: { outputBytes: 65_536, timeoutMs: 10_000 } },
        expect: ["output_exceeded"],
        markers: [sleep],
      });
    }
    if (suite.plain) {
      // Without the sandbox the disk a run fills is the host's (7a): another flood instead.
      const sleep = sleepMarker();
      cases.push({
        name: "output flood",
        body: { code: outputFlood(sleep), limits: { outputBytes: 65_536, timeoutMs: 10_000 } },
        expect: ["output_exceeded"],
        markers: [sleep],
      });
    } else {
      const mark = marker("mecha-c14-disk");
      const sleep = sleepMarker();
      cases.push({
        name: "disk fill",
        body: { code: diskFill(mark, sleep), limits: { timeoutMs: 10_000 } },
        expect: ["succeeded"],
        markers: [mark, sleep],
      });
    }
    for (let i = 0; i < 2; i++) {
      const sleep = sleepMarker();
      const endsWithProgram = i === 0 || !sessionRules.heldOutputEndsRun();
      cases.push({
        name: "daemon",
        // A run that ends with its program has the limit the other well-behaved entries have:
        // a cold interpreter among nineteen hostile runs can take more than a second to start,
        // and a run that waited for its daemon (sleeping 987 s) would still fail at 10 s.
        body: {
          code: doubleForkDaemon(sleep, i === 0),
          limits: { timeoutMs: endsWithProgram ? 10_000 : 1_500 },
        },
        expect: [endsWithProgram ? "succeeded" : "timed_out"],
        markers: [sleep],
      });
    }
    for (let i = 0; i < 2; i++) {
      const mark = marker("mecha-c14-term");
      const sleep = sleepMarker();
      cases.push({
        name: "SIGTERM ignorers",
        body: { code: termIgnorers(mark, sleep), limits: { timeoutMs: 1_500 } },
        expect: ["timed_out"],
        markers: [mark, sleep],
      });
    }
    for (let i = 0; i < 2; i++) {
      const mark = marker("mecha-c14-spin");
      cases.push({
        name: "cpu spinner",
        body: { code: cpuSpinner(mark), limits: { timeoutMs: 1_500 } },
        expect: ["timed_out", "failed"],
        markers: [mark],
      });
    }
    {
      const sleep = sleepMarker();
      cases.push({
        name: "setuid(0)",
        body: { code: `${sleeper(sleep)}\nimport os\nos.setuid(0)\nprint('ROOT')` },
        expect: ["failed"],
        markers: [sleep],
      });
    }
    {
      const sleep = sleepMarker();
      cases.push({
        name: "environment dump",
        body: {
          // pid 1's environment is empty (bubblewrap) or unreadable (the zygote's init).
          code: `${sleeper(sleep)}\nimport os\nprint(dict(os.environ))\ntry:\n    print(open('/proc/1/environ','rb').read())\nexcept PermissionError:\n    print('DENIED')`,
        },
        expect: ["succeeded"],
        markers: [sleep],
      });
    }
    {
      const sleep = sleepMarker();
      cases.push({
        name: "killer",
        body: {
          code: `${sleeper(sleep)}\nimport os\nfor t in [t for t in (os.getppid(), 1, -1) if t]:\n    try: os.kill(t, 9)\n    except OSError: pass\nprint('alive')`,
        },
        // Where its parent is its reporter, killing it ends the run.
        expect: parentKillable() ? ["failed"] : ["succeeded"],
        markers: [sleep],
      });
    }
    if (suite.plain) {
      // Without the sandbox the network is the host's (3): another spinner instead.
      const mark = marker("mecha-c14-spin");
      cases.push({
        name: "cpu spinner",
        body: { code: cpuSpinner(mark), limits: { timeoutMs: 1_500 } },
        expect: ["timed_out", "failed"],
        markers: [mark],
      });
    } else {
      const sleep = sleepMarker();
      cases.push({
        name: "network",
        body: {
          code: `${sleeper(sleep)}\nimport socket\ntry:\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n    print('CONNECTED')\nexcept OSError as e:\n    print('blocked', e)`,
        },
        expect: ["succeeded"],
        markers: [sleep],
      });
    }
    expect(cases).toHaveLength(20);

    const started = performance.now();
    const results = await Promise.all(cases.map((entry) => run(suite.handler(), entry.body)));
    const wall = performance.now() - started;
    results.forEach((result, index) => {
      const entry = cases[index]!;
      expect(
        entry.expect,
        `${entry.name}: ${result.status} ${result.stderr.slice(-300)}`,
      ).toContain(result.status);
      expect(suite.outputBytes(result)).toBeLessThanOrEqual(10 << 20);
      expect(result.stdout).not.toContain(suite.secret);
      expect(result.stdout).not.toContain("CONNECTED");
    });
    expect(wall).toBeLessThan(25_000);
    for (const entry of cases) suite.expectNoSurvivors(...entry.markers);
    await suite.expectHealthy();
  });
}
