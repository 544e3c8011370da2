/**
 * A mecha-server process started as a shell or supervisor may start it: with descriptors open
 * that it inherited without close-on-exec (`mecha-server 21</etc/shadow`). None reaches a run.
 * Also: a second server process on the host hands out none of this process's server's uids.
 * Run on both start-up paths by test/spawn.test.ts and test/zygote.test.ts, and without the
 * sandbox by test/plainZygote.test.ts.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler, type MechaHandler } from "../../src/createHandler";
import { findBwrap } from "../../src/runtime/sandbox";
import { remote, serveCli } from "./cliServer";
import { linesWith, marker, run } from "./helpers";
import { expectDisjoint, isRoot, runningUids } from "./uids";

const hasBwrap = process.platform === "linux" && findBwrap() !== null;

/** Descriptor numbers the server inherits: past and within the ones it passes a run itself. */
const INHERITED = [9, 21, 63];

/**
 * Everything a run might reach a descriptor by: its own, read at offset 0 whatever their number,
 * and every one of every process it can see in /proc (pid 1, its sandbox's init, included).
 */
const PROBE = [
  "import os",
  "def show(data):",
  "    return data[:100].decode('latin1').replace('\\n', ' ')",
  "print('SELF', sorted(int(fd) for fd in os.listdir('/proc/self/fd')))",
  "for fd in range(3, 65):",
  "    try:",
  "        print('LINK', 'self', fd, os.readlink('/proc/self/fd/%d' % fd))",
  "    except OSError:",
  "        pass",
  "    try:",
  "        print('READ', 'self', fd, show(os.pread(fd, 100, 0)))",
  "    except OSError:",
  "        pass",
  "for pid in sorted((p for p in os.listdir('/proc') if p.isdigit()), key=int):",
  "    try:",
  "        fds = os.listdir('/proc/%s/fd' % pid)",
  "    except OSError as error:",
  "        print('NOLIST', pid, error.errno)",
  "        continue",
  "    for fd in fds:",
  "        path = '/proc/%s/fd/%s' % (pid, fd)",
  "        try:",
  "            print('LINK', pid, fd, os.readlink(path))",
  "            handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)",
  "        except OSError:",
  "            continue",
  "        try:",
  "            print('READ', pid, fd, show(os.pread(handle, 100, 0)))",
  "        except OSError:",
  "            pass",
  "        finally:",
  "            os.close(handle)",
  "print('DONE')",
].join("\n");

export function inheritedDescriptorCases(
  startup: "spawn" | "zygote",
  sandbox: "required" | "none" = "required",
): void {
  const title = `a mecha-server process (${startup}${sandbox === "none" ? ", no sandbox" : ""})`;
  describe.skipIf(!hasBwrap && sandbox === "required")(title, { timeout: 60_000 }, () => {
    const secret = `inherited-secret-${randomBytes(12).toString("hex")}`;
    const secretFile = join(tmpdir(), `${marker("mecha-inherited")}.txt`);
    let server: Awaited<ReturnType<typeof serveCli>>;
    let handler: MechaHandler;

    beforeAll(async () => {
      writeFileSync(secretFile, `${secret}\n`, { mode: 0o644 });
      const fd = openSync(secretFile, "r");
      try {
        server = await serveCli(
          startup,
          [],
          Object.fromEntries(INHERITED.map((number) => [number, fd])),
          sandbox,
        );
      } finally {
        closeSync(fd);
      }
      handler = createHandler({ sandbox, startup, logger: false });
      await handler.ready();
    }, 120_000);

    afterAll(async () => {
      await Promise.all([server?.close(), handler?.close()]);
      rmSync(secretFile, { force: true });
    });

    it("passes no descriptor it inherited to a run", async () => {
      // The server itself holds them: the run must not.
      const serverFds = INHERITED.map((fd) => {
        try {
          return readlinkSync(`/proc/${server.child.pid}/fd/${fd}`);
        } catch {
          return null;
        }
      });
      expect(serverFds).toEqual(INHERITED.map(() => secretFile));
      // The path asked for, not a fallback.
      expect(server.output()).not.toContain("start-up path failed");
      // Twice: the second run's interpreter is started once the server serves.
      for (let i = 0; i < 2; i++) {
        const result = await run(remote(server.url), {
          code: PROBE,
          limits: { timeoutMs: 20_000 },
        });
        expect(result.status, result.stderr).toBe("succeeded");
        expect(result.stdout).toContain("DONE");
        expect(result.stdout).not.toContain(secret);
        expect(result.stdout).not.toContain(secretFile);
        expect(result.stderr).not.toContain(secret);
        const own = JSON.parse(linesWith(result.stdout, "SELF ")[0] ?? "null") as number[];
        for (const fd of INHERITED) expect(own).not.toContain(fd);
        for (const line of linesWith(result.stdout, "LINK "))
          expect(line).not.toContain(secretFile);
      }
    });

    it.skipIf(!isRoot)("hands out none of the uids another server process holds", async () => {
      const elsewhere = remote(server.url);
      const found = await runningUids([elsewhere, handler, elsewhere, handler]);
      const theirs = found.filter((_, i) => i % 2 === 0);
      const mine = found.filter((_, i) => i % 2 === 1);
      // A zygote in the sandbox has a uid of its own; without, it is the server's user.
      expectDisjoint(mine, theirs, startup === "zygote" && sandbox === "required");
    });
  });
}
