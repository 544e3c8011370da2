/**
 * Cases 9 and 10 of the hostile suite (test/hostile.cases.ts): what one run can see of another
 * run and of the host through the file system and /proc.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RunResult } from "@mecha/protocol";
import { expect } from "vitest";
import {
  hostProcessesWith,
  linesWith,
  marker,
  run,
  runRequest,
  sleepMarker,
  withMarkedArgv,
} from "./helpers";
import { sleeper } from "./programs";
import type { HostileSuite } from "./suite";

export function crossRunCases(suite: HostileSuite): void {
  suite.it("9. one run sees nothing of another run's files or processes", async () => {
    const markA = marker("mecha-runa");
    const secretA = `${randomBytes(16).toString("hex")}-payload`;
    const codeA = withMarkedArgv(
      markA,
      [
        "import time",
        `SECRET = ${JSON.stringify(secretA)}`,
        "for where in (os.getcwd(), '/tmp'):",
        "    with open(os.path.join(where, MARK + '.secret'), 'w') as handle:",
        "        handle.write(SECRET)",
        "print('ready', flush=True)",
        "while True:",
        "    time.sleep(1)",
      ].join("\n"),
    );
    const response = await suite.handler()(
      runRequest({ code: codeA, limits: { timeoutMs: 25_000 } }, "application/x-ndjson"),
    );
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    let runId = "";
    let stdoutA = "";
    let resultA: RunResult | null = null;
    const readUntil = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffered += decoder.decode(value, { stream: true });
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const event = JSON.parse(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf("\n");
          if (event.type === "started") runId = event.id;
          if (event.type === "stdout") stdoutA += event.data;
          if (event.type === "exit") resultA = event.result;
        }
      }
    };
    await readUntil(() => stdoutA.includes("ready") || resultA !== null);
    expect(resultA).toBeNull();
    expect(hostProcessesWith(markA).length).toBeGreaterThan(0);

    const codeB = [
      "import os",
      "print('PIDS', sorted(p for p in os.listdir('/proc') if p.isdigit()))",
      "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:",
      "    for part in ('cmdline', 'environ'):",
      "        try:",
      "            with open('/proc/%s/%s' % (pid, part), 'rb') as handle:",
      "                print('PROC', pid, part, handle.read().replace(b'\\0', b' ').decode('latin1'))",
      "        except OSError as error:",
      "            print('PROC', pid, part, 'denied', error.errno)",
      "alive = []",
      "for pid in range(1, 32768):",
      "    try:",
      "        os.kill(pid, 0)",
      "        alive.append(pid)",
      "    except ProcessLookupError:",
      "        pass",
      "    except PermissionError:",
      "        alive.append(pid)",
      "print('SIGNALABLE', alive)",
      "for where in (os.getcwd(), '/tmp'):",
      "    print('LIST', where, os.listdir(where))",
      "for root, dirs, names in os.walk('/'):",
      "    if root == '/':",
      "        dirs[:] = [d for d in dirs if d != 'proc']",
      "    for name in names + dirs:",
      "        if 'mecha-runa' in name or name.endswith('.secret'):",
      "            print('FOUND', os.path.join(root, name))",
      "        if root.startswith(('/tmp', '/workspace')) and name in names:",
      "            try:",
      "                with open(os.path.join(root, name), 'rb') as handle:",
      "                    print('CONTENT', os.path.join(root, name), handle.read(200))",
      "            except OSError:",
      "                pass",
      "print('DONE')",
    ].join("\n");
    const resultB = await run(suite.handler(), { code: codeB, limits: { timeoutMs: 20_000 } });
    expect(resultB.status, resultB.stderr).toBe("succeeded");
    expect(resultB.stdout).toContain("DONE");
    expect(resultB.stdout).not.toContain(markA);
    expect(resultB.stdout).not.toContain(secretA);
    expect(linesWith(resultB.stdout, "FOUND ")).toEqual([]);
    const signalable = JSON.parse(linesWith(resultB.stdout, "SIGNALABLE ")[0] ?? "[]") as number[];
    expect(signalable.length).toBeLessThanOrEqual(3);

    const cancel = await suite.handler()(
      new Request(`http://localhost/runs/${runId}/cancel`, { method: "POST" }),
    );
    expect(cancel.status).toBe(202);
    await readUntil(() => resultA !== null);
    expect((resultA as RunResult | null)?.status).toBe("cancelled");
    suite.expectNoSurvivors(markA);
    await suite.expectHealthy();
  });

  suite.it("10. symlinks and file paths cannot reach outside the sandbox", async () => {
    const hostPasswd = readFileSync("/etc/passwd", "utf8");
    const sleep = sleepMarker();
    const code = [
      "import os",
      sleeper(sleep),
      "links = {",
      "    'shadow': '/etc/shadow',",
      "    'proc-root': '/proc/1/root/etc/shadow',",
      "    'proc-root-app': '/proc/1/root/work/main/package.json',",
      "    'self-root': '/proc/self/root/../../../etc/shadow',",
      "    'dotdot': '../../../../../../../etc/shadow',",
      "    'root-bashrc': '/root/.bashrc',",
      "    'ppid-cwd': '/proc/%d/cwd/../../package.json' % os.getppid(),",
      "}",
      "for name, target in links.items():",
      "    os.symlink(target, name)",
      "    try:",
      "        with open(name, 'rb') as handle:",
      "            print('OPENED', name, handle.read(200))",
      "    except OSError as error:",
      "        print('DENIED', name, error.errno)",
      "for source in ('/etc/passwd', '/usr/bin/python3'):",
      "    try:",
      "        os.link(source, 'hard-' + os.path.basename(source))",
      "        print('LINKED', source)",
      "    except OSError as error:",
      "        print('NOLINK', source, error.errno)",
      "with open('/etc/passwd') as handle:",
      "    print('PASSWD', handle.read().replace('\\n', '|'))",
      "print('DONE')",
    ].join("\n");
    const result = await run(suite.handler(), { code });
    expect(result.status, result.stderr).toBe("succeeded");
    expect(result.stdout).toContain("DONE");
    expect(linesWith(result.stdout, "OPENED ")).toEqual([]);
    expect(linesWith(result.stdout, "LINKED ")).toEqual([]);
    expect(linesWith(result.stdout, "DENIED ")).toHaveLength(7);
    // The sandbox's /etc/passwd is its own: root, the run's user and nobody, no host account.
    expect(linesWith(result.stdout, "PASSWD ")).toEqual([
      "root:x:0:0:root:/root:/usr/sbin/nologin|sandbox:x:1000:1000:sandbox:/workspace:/usr/sbin/nologin|nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin|",
    ]);
    suite.expectNoSurvivors(sleep);

    for (const path of [
      "../../etc/passwd",
      "/etc/passwd",
      "a/../../etc/passwd",
      "..\\..\\etc\\passwd",
      "..",
    ]) {
      const response = await suite.handler()(
        runRequest({
          code: "print('ran')",
          files: [{ path, content: "mecha:x:0:0::/:/bin/sh\n" }],
        }),
      );
      if (response.status === 200) {
        // Accepted: then the write must have stayed inside the working directory.
        const outcome = (await response.json()) as RunResult;
        expect(outcome.status, path).not.toBe("succeeded");
      } else {
        expect(response.status, path).toBe(400);
        await response.body?.cancel();
      }
    }
    const nested = await run(suite.handler(), {
      code: "print(open('dir/ok.txt').read())",
      files: [{ path: "dir/ok.txt", content: "inside" }],
    });
    expect(nested.stdout).toBe("inside\n");
    expect(readFileSync("/etc/passwd", "utf8")).toBe(hostPasswd);
    await suite.expectHealthy();
  });
}
