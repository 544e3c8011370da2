import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RunEvent } from "@mecha/protocol";
import { createHandler } from "@mecha/server";
import { toNodeListener } from "@mecha/server/node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type ClientOptions, createClient, type MechaClient, MOCK_NOTICE } from "../src/index";

// A real @mecha/server on a real port, running real Python.

interface RunningServer {
  url: string;
  port: number;
  /** Like a crash: connections reset, the port stops answering, running programs end. */
  kill(): Promise<void>;
}

const servers: RunningServer[] = [];
const clients: MechaClient[] = [];

async function startServer(
  port = 0,
  options: Parameters<typeof createHandler>[0] = {},
): Promise<RunningServer> {
  const handler = createHandler({ logger: false, ...options });
  const server = http.createServer(toNodeListener(handler));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actual = (server.address() as AddressInfo).port;
  let killed = false;
  const running: RunningServer = {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    async kill() {
      if (killed) return;
      killed = true;
      server.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        handler.close(),
      ]);
    },
  };
  servers.push(running);
  return running;
}

function client(url: string, options: Partial<ClientOptions> = {}): MechaClient {
  const created = createClient({
    baseUrl: url,
    timeoutMs: 2000,
    retry: { baseMs: 20, maxMs: 2000 },
    health: { intervalMs: 1000, offlineMinMs: 50, offlineMaxMs: 200 },
    onWarning: () => {},
    ...options,
  });
  clients.push(created);
  return created;
}

afterEach(async () => {
  for (const created of clients.splice(0)) created.dispose();
  await Promise.all(servers.splice(0).map((server) => server.kill()));
});

const python = (code: string) => ({ language: "python" as const, code });

describe("against a real @mecha/server", { timeout: 15_000 }, () => {
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

  it("delivers output while the program is still running", async () => {
    const server = await startServer();
    const mecha = client(server.url);
    const arrivals: { event: RunEvent; at: number; settled: boolean }[] = [];
    let settled = false;
    const started = Date.now();
    const result = mecha.run(
      python('import time\nprint("first")\ntime.sleep(0.8)\nprint("second")\n'),
      { onEvent: (event) => arrivals.push({ event, at: Date.now() - started, settled }) },
    );
    result.finally(() => {
      settled = true;
    });
    await expect(result).resolves.toMatchObject({ stdout: "first\nsecond\n" });

    const first = arrivals.find((a) => a.event.type === "stdout" && a.event.data.includes("first"));
    const second = arrivals.find(
      (a) => a.event.type === "stdout" && a.event.data.includes("second"),
    );
    const exit = arrivals.find((a) => a.event.type === "exit");
    expect(arrivals[0]?.event.type).toBe("started");
    expect(first && second && exit).toBeTruthy();
    expect(first!.settled).toBe(false);
    // "first" came while the program slept, not bundled with the end of the response.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(300);
    expect(exit!.at).toBeGreaterThanOrEqual(second!.at);
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
    const asked = Date.now();
    await handle.cancel();
    const result = await handle.result;
    expect(result).toMatchObject({ status: "cancelled", backend: "server", stdout: "working\n" });
    expect(Date.now() - asked).toBeLessThan(5000);
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
    const mecha = client(server.url, {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (String(input).endsWith("/runs")) {
          answers.push(`${response.status} ${response.headers.get("retry-after") ?? ""}`.trim());
        }
        return response;
      },
    });
    const nap = python('import time\ntime.sleep(0.3)\nprint("done")\n');
    const started = Date.now();
    const [a, b] = await Promise.all([mecha.run(nap), mecha.run(nap)]);
    expect([a.backend, b.backend]).toEqual(["server", "server"]);
    expect([a.stdout, b.stdout]).toEqual(["done\n", "done\n"]);
    expect(answers.sort()).toEqual(["200", "200", "503 1"]);
    // The retry waited the second the server asked for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it("survives the server dying mid-run and comes back to it after a restart", async () => {
    const server = await startServer();
    const mecha = client(server.url, { fallback: "mock" });
    const statuses: string[] = [];
    mecha.subscribe((state) => statuses.push(state.status));
    await vi.waitFor(() => expect(mecha.status).toBe("online"));

    // An interactive run that has shown output is not re-run elsewhere: it fails, typed.
    const handle = mecha.start(python('import time\nprint("tick", flush=True)\ntime.sleep(30)\n'));
    for await (const event of handle.events) {
      if (event.type === "stdout") break;
    }
    await server.kill();
    const error = await handle.result.catch((e) => e);
    expect(error).toMatchObject({ name: "NetworkError", code: "network" });

    await vi.waitFor(() => expect(mecha.status).toBe("offline"), { timeout: 3000 });
    expect(statuses).toContain("degraded");

    const fallback = await mecha.run(python('print("still here")'));
    expect(fallback.backend).toBe("mock");
    expect(fallback.stdout).toBe(`${MOCK_NOTICE}still here\n`);

    const restarted = Date.now();
    await startServer(server.port);
    // Healthy again, but the last run on the server failed: degraded, not online, until a
    // run completes there.
    await vi.waitFor(() => expect(mecha.status).toBe("degraded"), { timeout: 3000, interval: 10 });
    // Back within one health interval: probes while offline are at most offlineMaxMs apart.
    expect(Date.now() - restarted).toBeLessThan(1000);

    const back = await mecha.run(python('print("back on the server")'));
    expect(back).toMatchObject({ backend: "server", stdout: "back on the server\n" });
    expect(mecha.status).toBe("online");
  });

  it("run() falls back when the server dies mid-run, and says so", async () => {
    const server = await startServer();
    const mecha = client(server.url, { fallback: "mock" });
    const events: RunEvent[] = [];
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
