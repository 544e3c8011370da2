import { describe, expect, it, vi } from "vitest";
import type { ClientRunEvent } from "../src/backend";
import { MOCK_NOTICE, type Timers } from "../src/index";
import { useRealServers } from "./realServers";

// A real @mecha/server on a real port, running real Python.
const { startServer, client } = useRealServers();

const python = (code: string) => ({ language: "python" as const, code });

/** Real timers that remember the delay of every timer the client sets, in order. */
function recordingTimers() {
  const delays: number[] = [];
  const timers: Timers = {
    setTimeout(callback, ms) {
      delays.push(ms);
      return setTimeout(callback, ms);
    },
    clearTimeout(id) {
      clearTimeout(id as ReturnType<typeof setTimeout>);
    },
  };
  return { timers, delays };
}

describe("against a real @mecha/server", { timeout: 30_000 }, () => {
  it("runs programs and resolves every outcome as a result", async () => {
    const server = await startServer();
    const mecha = client(server.url);

    const ok = await mecha.run(python('print("hello from python")'));
    expect(ok).toMatchObject({
      backend: "server",
      status: "succeeded",
      exitCode: 0,
      stdout: "hello from python\n",
    });

    const failed = await mecha.run(python('x = 1\nraise ValueError("bad value")\n'));
    expect(failed).toMatchObject({ backend: "server", status: "failed" });
    expect(failed.error).toMatchObject({ type: "ValueError", message: "bad value", line: 2 });

    const slow = await mecha.run({
      ...python("while True:\n    pass\n"),
      limits: { timeoutMs: 300 },
    });
    expect(slow).toMatchObject({ backend: "server", status: "timed_out" });

    await expect(mecha.checkHealth()).resolves.toMatchObject({ status: "ok", protocol: 1 });
    expect(mecha.status).toBe("online");
  });

  it("sends each run's Idempotency-Key with its other headers, and the server runs it", async () => {
    const seen: { key: string | null; auth: string | null }[] = [];
    const server = await startServer(0, {
      authorize: (request) => {
        if (request.method === "POST" && new URL(request.url).pathname === "/runs") {
          seen.push({
            key: request.headers.get("idempotency-key"),
            auth: request.headers.get("authorization"),
          });
        }
        return true;
      },
    });
    const mecha = client(server.url, { headers: { authorization: "Bearer t" } });
    await expect(mecha.run(python("print(1)"))).resolves.toMatchObject({ stdout: "1\n" });
    await expect(mecha.run(python("print(2)"))).resolves.toMatchObject({ stdout: "2\n" });
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({
      key: expect.stringMatching(/^[0-9a-f]{32}$/),
      auth: "Bearer t",
    });
    expect(seen[1]?.key).not.toBe(seen[0]?.key);
  });

  it("delivers output while the program is still running", async () => {
    const server = await startServer();
    const mecha = client(server.url);
    // The program prints, then waits for a line only this test sends once "first" has arrived:
    // output that came only with the end of the response would never get here.
    const handle = mecha.start(python('print("first", flush=True)\ninput()\nprint("second")\n'));
    let settled = false;
    handle.result.finally(() => {
      settled = true;
    });
    const types: string[] = [];
    let stdout = "";
    let answered = false;
    for await (const event of handle.events) {
      types.push(event.type);
      if (event.type === "stdout") stdout += event.data;
      if (!answered && stdout.includes("first")) {
        answered = true;
        expect(settled).toBe(false);
        expect(stdout).not.toContain("second");
        await handle.sendStdin("go\n");
      }
    }
    expect(answered).toBe(true);
    expect(types[0]).toBe("started");
    expect(types.at(-1)).toBe("exit");
    await expect(handle.result).resolves.toMatchObject({ stdout: "first\nsecond\n" });
  });

  it("answers input() prompts over plain HTTP", async () => {
    const server = await startServer();
    const mecha = client(server.url);
    const handle = mecha.start(
      python('name = input("Name? ")\nage = input("Age? ")\nprint(f"Hello, {name} ({age})!")\n'),
    );
    const prompts: string[] = [];
    const answers = ["Ada\n", "36\n"];
    for await (const event of handle.events) {
      if (event.type === "input") {
        prompts.push(event.prompt);
        await handle.sendStdin(answers.shift()!);
      }
    }
    expect(prompts).toEqual(["Name? ", "Age? "]);
    expect(handle.id).toMatch(/\S/);
    expect(handle.backend).toBe("server");
    const result = await handle.result;
    expect(result).toMatchObject({ status: "succeeded", backend: "server" });
    expect(result.stdout).toContain("Hello, Ada (36)!");
  });

  it("closes stdin with eof so a program reading to the end finishes", async () => {
    const server = await startServer();
    const handle = client(server.url).start(
      python("import sys\ndata = sys.stdin.read()\nprint(len(data.splitlines()))\n"),
    );
    await handle.sendStdin("a\nb\n");
    await handle.sendStdin("c\n", { eof: true });
    await expect(handle.result).resolves.toMatchObject({ status: "succeeded", stdout: "3\n" });
  });

  it("cancels a running program", async () => {
    const server = await startServer();
    const handle = client(server.url).start(
      python('import time\nprint("working", flush=True)\ntime.sleep(30)\n'),
    );
    let output = "";
    for await (const event of handle.events) {
      if (event.type === "stdout") output += event.data;
      if (output === "working\n") break;
    }
    await handle.cancel();
    // Cancelled, not the 30 s sleep's end: the status says which.
    const result = await handle.result;
    expect(result).toMatchObject({ status: "cancelled", backend: "server", stdout: "working\n" });
  });

  it("aborting the signal ends the program on the server", async () => {
    const server = await startServer();
    const mecha = client(server.url);
    const controller = new AbortController();
    const result = mecha.run(
      python('import time\nprint("working", flush=True)\ntime.sleep(30)\n'),
      {
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === "stdout") controller.abort();
        },
      },
    );
    await expect(result).rejects.toMatchObject({ name: "AbortedError", code: "aborted" });
    await vi.waitFor(async () => expect((await mecha.checkHealth()).capacity.running).toBe(0), {
      timeout: 5000,
      interval: 50,
    });
  });

  it("honours 503 busy with Retry-After from a full server", async () => {
    const server = await startServer(0, { maxConcurrent: 1, maxQueued: 0 });
    const answers: string[] = [];
    const { timers, delays } = recordingTimers();
    // The retry the server's Retry-After asks for fires only once the run holding the one
    // slot has ended, however slow the machine.
    let freed!: () => void;
    const slotFree = new Promise<void>((resolve) => {
      freed = resolve;
    });
    const gated: Timers = {
      setTimeout: (callback, ms) =>
        timers.setTimeout(() => (ms === 1000 ? void slotFree.then(callback) : callback()), ms),
      clearTimeout: timers.clearTimeout,
    };
    const mecha = client(server.url, {
      timers: gated,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (String(input).endsWith("/runs")) {
          answers.push(`${response.status} ${response.headers.get("retry-after") ?? ""}`.trim());
        }
        return response;
      },
    });
    const holder = mecha.start(python('name = input()\nprint("done", name)\n'));
    for await (const event of holder.events) if (event.type === "input") break;
    const waiting = mecha.run(python('print("done")\n'));
    await vi.waitFor(() => expect(answers).toContain("503 1"), { timeout: 10_000 });
    await holder.sendStdin("a\n");
    const a = await holder.result;
    freed();
    const b = await waiting;
    expect([a.backend, b.backend]).toEqual(["server", "server"]);
    expect([a.stdout, b.stdout]).toEqual(["done a\n", "done\n"]);
    expect(answers.sort()).toEqual(["200", "200", "503 1"]);
    // The retry waited the second the server asked for.
    expect(delays).toContain(1000);
  });

  it("survives the server dying mid-run and comes back to it after a restart", async () => {
    const server = await startServer();
    const { timers, delays } = recordingTimers();
    const mecha = client(server.url, { fallback: "mock", timers });
    const statuses: string[] = [];
    // Where in `delays` the client went offline, and where it found the server again.
    let wentOffline: number | undefined;
    let cameBack: number | undefined;
    mecha.subscribe((state) => {
      statuses.push(state.status);
      if (state.status === "offline") wentOffline ??= delays.length;
      else if (wentOffline !== undefined) cameBack ??= delays.length;
    });
    // The first health check can take a while on a loaded machine; the status says "unknown" until then.
    await vi.waitFor(() => expect(mecha.status).toBe("online"), { timeout: 10_000 });

    // An interactive run that has shown output is not re-run elsewhere: it fails, typed.
    const handle = mecha.start(python('import time\nprint("tick", flush=True)\ntime.sleep(30)\n'));
    for await (const event of handle.events) {
      if (event.type === "stdout") break;
    }
    await server.kill();
    const error = await handle.result.catch((e) => e);
    expect(error).toMatchObject({ name: "NetworkError", code: "network" });

    await vi.waitFor(() => expect(mecha.status).toBe("offline"), { timeout: 10_000 });
    expect(statuses).toContain("degraded");

    const fallback = await mecha.run(python('print("still here")'));
    expect(fallback.backend).toBe("mock");
    expect(fallback.stdout).toBe(`${MOCK_NOTICE}still here\n`);

    await startServer(server.port);
    // Healthy again, but the last run on the server failed: degraded, not online, until a
    // run completes there.
    await vi.waitFor(() => expect(mecha.status).toBe("degraded"), {
      timeout: 10_000,
      interval: 10,
    });
    // Found again by a probe: while offline the client probed at most offlineMaxMs apart (the
    // other timers it set meanwhile are its 2 s request timeouts).
    const probes = delays.slice(wentOffline, cameBack).filter((delay) => delay !== 2000);
    expect(probes.length).toBeGreaterThan(0);
    expect(Math.max(...probes)).toBeLessThanOrEqual(200);

    const back = await mecha.run(python('print("back on the server")'));
    expect(back).toMatchObject({ backend: "server", stdout: "back on the server\n" });
    expect(mecha.status).toBe("online");
  });

  it("run() falls back when the server dies mid-run, and says so", async () => {
    const server = await startServer();
    const mecha = client(server.url, { fallback: "mock" });
    const events: ClientRunEvent[] = [];
    const result = mecha.run(python('import time\nprint("tick", flush=True)\ntime.sleep(30)\n'), {
      onEvent: (event) => {
        events.push(event);
        if (event.type === "stdout") void server.kill();
      },
    });
    const settled = await result;
    expect(settled.backend).toBe("mock");
    expect(settled.status).toBe("failed");
    expect(settled.stdout.startsWith(MOCK_NOTICE)).toBe(true);
    expect(events.filter((event) => event.type === "started")).toHaveLength(2);
  });

  it('with fallback "none" a dead server is a typed network error', async () => {
    const server = await startServer();
    const url = server.url;
    await server.kill();
    const mecha = client(url, { retry: { limit: 1, baseMs: 10 } });
    const error = await mecha.run(python('print("x")')).catch((e) => e);
    expect(error).toMatchObject({ name: "NetworkError", code: "network", attempts: 2 });
    expect(error.request).toEqual({ method: "POST", url: `${url}/runs` });
  });
});
