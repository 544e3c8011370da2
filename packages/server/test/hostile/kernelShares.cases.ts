/**
 * Kernel counters kept per user (inotify instances, queued signals) and the host uids behind
 * them: the runs of one server cannot exhaust them for each other, nor for another server's, and
 * two servers on one host never hand out the same uid. Run on both start-up paths by
 * test/spawn.test.ts and test/zygote.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { findBwrap } from "../../src/runtime/sandbox";
import { linesWith, run } from "./helpers";
import { openRun, type RunStream } from "./stream";
import { expectDisjoint, isRoot, runningUids } from "./uids";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;

const LIBC = [
  "import ctypes, errno, os, signal, sys",
  "libc = ctypes.CDLL(None, use_errno=True)",
  "libc.sigqueue.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]",
  "SIG = signal.SIGRTMIN",
  "signal.pthread_sigmask(signal.SIG_BLOCK, {SIG})",
  "def failure():",
  "    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))",
];

/**
 * Creates inotify instances until the kernel refuses one, then queues real-time signals to
 * itself (blocked, so they stay queued) until it refuses one; reports both and holds them until
 * its standard input ends.
 */
const EXHAUST = [
  ...LIBC,
  "instances, error = [], None",
  "while len(instances) < 4096:",
  "    fd = libc.inotify_init1(0)",
  "    if fd < 0:",
  "        error = failure()",
  "        break",
  "    instances.append(fd)",
  "print('INOTIFY', len(instances), error, flush=True)",
  "queued, error = 0, None",
  "while queued < 1 << 20:",
  "    if libc.sigqueue(os.getpid(), SIG, None) != 0:",
  "        error = failure()",
  "        break",
  "    queued += 1",
  "print('SIGQUEUE', queued, error, flush=True)",
  "print('HOLDING', flush=True)",
  "sys.stdin.read()",
].join("\n");

/** One inotify instance and one queued signal, each reported. */
const ONE_EACH = [
  ...LIBC,
  "fd = libc.inotify_init1(0)",
  "print('INOTIFY', 'created' if fd >= 0 else failure())",
  "ok = libc.sigqueue(os.getpid(), SIG, None) == 0",
  "print('SIGQUEUE', 'queued' if ok else failure())",
].join("\n");

const MAX_CONCURRENT = 8;

export function kernelShareCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(
    `per-user kernel counters and uids (${startup})`,
    { timeout: 60_000 },
    () => {
      let handler: MechaHandler;
      let other: MechaHandler;

      beforeAll(async () => {
        const options = {
          sandbox: "required",
          startup,
          logger: false,
          maxConcurrent: MAX_CONCURRENT,
        } as const;
        handler = createHandler(options);
        // Another server on the same host.
        other = createHandler(options);
        await Promise.all([handler.ready(), other.ready()]);
      });

      afterAll(async () => {
        await Promise.all([handler?.close(), other?.close()]);
      });

      it("runs exhausting inotify instances and the signal queue in every slot but one leave the last, and another server's runs, their own", async () => {
        const holders: RunStream[] = [];
        try {
          for (let i = 0; i < MAX_CONCURRENT - 1; i++) {
            holders.push(await openRun(handler, { code: EXHAUST, limits: { timeoutMs: 60_000 } }));
          }
          await Promise.all(holders.map((holder) => holder.untilStdout("HOLDING\n")));
          for (const holder of holders) {
            // Each was stopped by the kernel, not by the loop's own bound.
            const [instances, instanceError] = linesWith(holder.stdout, "INOTIFY ")[0]!.split(" ");
            expect(Number(instances)).toBeGreaterThan(0);
            expect(instanceError).toMatch(/^E[A-Z]+$/);
            const [queued, queueError] = linesWith(holder.stdout, "SIGQUEUE ")[0]!.split(" ");
            expect(Number(queued)).toBeGreaterThan(0);
            expect(queueError).toMatch(/^E[A-Z]+$/);
          }
          const [last, elsewhere] = await Promise.all([
            run(handler, { code: ONE_EACH }),
            run(other, { code: ONE_EACH }),
          ]);
          for (const result of [last, elsewhere]) {
            expect(result.status, result.stderr).toBe("succeeded");
            expect(linesWith(result.stdout, "INOTIFY ")).toEqual(["created"]);
            expect(linesWith(result.stdout, "SIGQUEUE ")).toEqual(["queued"]);
          }
        } finally {
          for (const holder of holders) expect((await holder.cancel()).status).toBe("cancelled");
        }
      });

      it.skipIf(!isRoot)(
        "two servers on one host never use the same host uid, for runs or zygotes",
        async () => {
          // Interleaved, so that both servers hand out uids at the same time.
          const found = await runningUids([handler, other, handler, other, handler, other]);
          const mine = found.filter((_, i) => i % 2 === 0);
          const theirs = found.filter((_, i) => i % 2 === 1);
          expectDisjoint(mine, theirs, startup === "zygote");
        },
      );
    },
  );
}
