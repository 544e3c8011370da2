/**
 * A run forked from the zygote inherits the zygote's memory: nothing of its bookkeeping (other
 * runs, their ids, how many are in flight) may be reachable from the run's interpreter. Run by
 * test/zygote.test.ts only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import type { Spawner } from "../../src/runtime/options";
import { findBwrap } from "../../src/runtime/sandbox";
import { hostProcessesWith, linesWith, marker, run, withMarkedArgv } from "./helpers";
import { openRun } from "./stream";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;

/**
 * Starts processes as the server would, and records, for every run the zygote forks, its id and
 * its pid in the zygote's pid namespace (from the zygote's `ready` answers on its fd 4).
 */
function recordingForks(forks: Map<number, string>): Spawner {
  return (command, args, options) => {
    const child: ChildProcess = spawn(command, args, options);
    const replies = child.stdio[4] as Readable | null | undefined;
    if (replies && args.some((arg) => arg.endsWith("/zygote.py"))) {
      let text = "";
      replies.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        for (const match of text.matchAll(/"type":"ready","id":"([^"]+)","pid":(\d+)/g)) {
          forks.set(Number(match[2]), match[1]!);
        }
        text = text.slice(text.lastIndexOf("\n") + 1);
      });
    }
    return child;
  };
}

/**
 * Walks every frame up from the program's, and every object the collector tracks, for strings
 * that look like the server's run ids (`<server pid>-<letters and digits>`), for local names of
 * the zygote's loop, and for objects of the zygote's classes.
 */
function probe(serverPid: number): string {
  return [
    "import gc, re, sys",
    `ID = re.compile(${JSON.stringify(`\\b${serverPid}-[0-9a-z]+`)})`,
    "found = set()",
    "def scan(value):",
    "    if isinstance(value, bytes):",
    "        value = value.decode('latin1')",
    "    if isinstance(value, str):",
    "        found.update(ID.findall(value[:1 << 20]))",
    "gc.unfreeze()",
    "frame = sys._getframe()",
    "while frame is not None:",
    "    names = sorted(set(frame.f_locals) | set(frame.f_code.co_varnames))",
    "    print('FRAME', frame.f_code.co_filename, frame.f_code.co_name, ' '.join(names))",
    "    for scope in (frame.f_locals, frame.f_globals):",
    "        for key, value in list(scope.items()):",
    "            scan(key)",
    "            scan(value)",
    "            try:",
    "                scan(repr(value)[:1 << 16])",
    "            except Exception:",
    "                pass",
    "    frame = frame.f_back",
    "classes = set()",
    "for obj in gc.get_objects():",
    "    kind = type(obj)",
    "    if kind.__name__ in ('Run', 'Nets', 'Inits', 'InitBlock', 'Forked'):",
    "        classes.add('%s.%s' % (kind.__module__, kind.__name__))",
    "    for ref in gc.get_referents(obj):",
    "        scan(ref)",
    "print('IDS', ' '.join(sorted(found)))",
    "print('CLASSES', ' '.join(sorted(classes)))",
    "print('OBJECTS', len(gc.get_objects()))",
  ].join("\n");
}

/** Local names of the zygote's loop (see serve() and reap() in python/zygote.py). */
const BOOKKEEPING = ["runs", "by_id", "pending", "inits", "nets", "pid_ns", "control"];

export function zygoteStateCases(): void {
  describe.skipIf(!hasBwrap)("the zygote's state, seen from a run", { timeout: 60_000 }, () => {
    const handlers: MechaHandler[] = [];
    afterAll(() => Promise.all(handlers.map((handler) => handler.close())));

    // Warm interpreters are forked ahead, while others wait; without, a run is forked on demand.
    it.each([0, 2])(
      "holds nothing of another run in flight (warm pool of %i)",
      async (warmPool) => {
        const forks = new Map<number, string>();
        const handler = createHandler({
          sandbox: "required",
          startup: "zygote",
          logger: false,
          warmPool,
          spawn: recordingForks(forks),
        });
        handlers.push(handler);
        const mark = marker("mecha-inflight");
        const other = await openRun(handler, {
          code: withMarkedArgv(mark, "import sys\nprint('waiting', flush=True)\nsys.stdin.read()"),
          limits: { timeoutMs: 60_000 },
        });
        try {
          await other.untilStdout("waiting");
          // Its pid in the zygote's pid namespace: the second of its NSpid (host, zygote, run).
          const [host] = hostProcessesWith(mark);
          const nspid = /\nNSpid:\s+(\d+)\s+(\d+)/.exec(
            readFileSync(`/proc/${host!.pid}/status`, "utf8"),
          );
          const otherId = forks.get(Number(nspid?.[2]));
          expect(otherId).toMatch(new RegExp(`^${process.pid}-`));

          const result = await run(handler, { code: probe(process.pid) });
          expect(result.status, result.stderr).toBe("succeeded");
          const ids = (linesWith(result.stdout, "IDS ")[0] ?? "").split(" ").filter(Boolean);
          expect(ids).not.toContain(otherId);
          expect(linesWith(result.stdout, "CLASSES ")).toEqual([""]);
          // Frozen objects included: an interpreter holds thousands.
          expect(Number(linesWith(result.stdout, "OBJECTS ")[0])).toBeGreaterThan(1000);
          const frames = linesWith(result.stdout, "FRAME ");
          expect(frames.length).toBeGreaterThan(0);
          for (const frame of frames) {
            const [, name, ...locals] = frame.split(" ");
            expect(["serve", "fork_run", "reap"]).not.toContain(name);
            for (const local of BOOKKEEPING) expect(locals, frame).not.toContain(local);
          }
        } finally {
          await other.cancel();
        }
      },
    );
  });
}
