import { describe, expect, it, vi } from "vitest";
import { createFakeClient, deferred } from "../../test/fakeClient";
import { healthBody } from "../../test/fixtures";
import { createClient } from "../createClient";
import { createRunStore } from "./createRunStore";

const req = { language: "python" as const, code: "print(1)" };

describe("createRunStore", () => {
  it("goes from queued to running to the result's status, streaming output", async () => {
    const gate = deferred();
    const client = createFakeClient({
      script: async (run) => {
        run.stdout("one\n");
        await gate.promise;
        run.stderr("two\n");
        return { status: "failed", exitCode: 1 };
      },
    });
    const store = createRunStore();
    const states: string[] = [];
    store.subscribe(() => states.push(store.getSnapshot().state));
    const done = store.execute(client, req);
    expect(store.getSnapshot().state).toBe("queued");
    await vi.waitFor(() => expect(store.output.lines).toHaveLength(1));
    expect(store.getSnapshot().state).toBe("running");
    gate.resolve();
    const outcome = await done;
    expect(outcome.status).toBe("failed");
    expect(store.getSnapshot()).toMatchObject({
      state: "failed",
      backend: "server",
      prompt: null,
    });
    expect(store.output.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stderr", "two"],
    ]);
    expect(states[0]).toBe("queued");
    expect(states.at(-1)).toBe("failed");
  });

  it("says where a run goes while it runs, also a fallback's", async () => {
    const client = createClient({
      baseUrl: "http://mecha.test",
      fetch: async () => {
        throw new TypeError("Failed to fetch");
      },
      fallback: "mock",
      retry: { limit: 0 },
      onWarning: () => {},
    });
    const store = createRunStore();
    const running: unknown[] = [];
    store.subscribe(() => {
      const { state, backend } = store.getSnapshot();
      if (state === "running") running.push(backend);
    });
    try {
      await store.execute(client, req);
    } finally {
      client.dispose();
    }
    // Simulated output is never shown as running anywhere else, not even for a moment.
    expect(new Set(running)).toEqual(new Set(["mock"]));
  });

  it("reports input prompts and sends the answer with a newline", async () => {
    const client = createFakeClient({
      script: async (run) => {
        const name = await run.input("Name? ");
        run.stdout(`Hi ${name}\n`);
      },
    });
    const store = createRunStore();
    const done = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().prompt).toBe("Name? "));
    await store.sendInput("Ada");
    await done;
    expect(store.output.toString()).toBe("Name? Ada\nHi Ada");
  });

  it("stops a run: it ends as cancelled", async () => {
    const client = createFakeClient({ script: () => new Promise(() => {}) });
    const store = createRunStore();
    const done = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().state).toBe("running"));
    await store.stop();
    await expect(done).resolves.toMatchObject({ status: "cancelled" });
    expect(store.getSnapshot().state).toBe("cancelled");
  });

  it("does not call a run stopped when the server never heard the stop", async () => {
    // The run streams from the server; then the server is out of reach for the cancel.
    const encoder = new TextEncoder();
    const client = createClient({
      baseUrl: "http://mecha.test",
      fetch: async (input) => {
        const url = String(input instanceof Request ? input.url : input);
        if (url.endsWith("/health")) return Response.json(healthBody());
        if (url.endsWith("/cancel")) throw new TypeError("Failed to fetch");
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(
              encoder.encode(`${JSON.stringify({ type: "started", id: "r1" })}\n`),
            );
          },
        });
        return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
      },
      retry: { limit: 0 },
      onWarning: () => {},
    });
    const errors: Error[] = [];
    const store = createRunStore({ onError: (error) => errors.push(error) });
    try {
      const done = store.execute(client, req);
      await vi.waitFor(() => expect(store.getSnapshot().runId).toBe("r1"));
      await store.stop();
      await expect(done).rejects.toBeDefined();
      expect(store.getSnapshot()).toMatchObject({ state: "error", runId: "r1" });
      expect(store.getSnapshot().error?.message).toMatch(/cancel/);
      expect(errors).toEqual([store.getSnapshot().error]);
    } finally {
      client.dispose();
    }
  });

  it("is in state error when no backend could run the code", async () => {
    const client = createFakeClient();
    client.failWith = new Error("server offline and no fallback");
    const store = createRunStore();
    await expect(store.execute(client, req)).rejects.toThrow("no fallback");
    expect(store.getSnapshot()).toMatchObject({ state: "error" });
    expect(store.getSnapshot().error?.message).toMatch("no fallback");
  });

  it("writes the result's output when the backend did not stream it", async () => {
    const client = createFakeClient({
      script: async () => ({ stdout: "from result\n", stderr: "" }),
    });
    const store = createRunStore();
    await store.execute(client, req);
    expect(store.output.toString()).toBe("from result");
  });

  it("ignores what an earlier run reports once a new one started", async () => {
    const first = deferred();
    let calls = 0;
    const client = createFakeClient({
      script: async (run) => {
        calls++;
        if (calls === 1) {
          await first.promise;
          run.stdout("stale\n");
        } else {
          run.stdout("fresh\n");
        }
      },
    });
    const store = createRunStore();
    const a = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().state).toBe("running"));
    const b = store.execute(client, req);
    first.resolve();
    await Promise.all([a, b]);
    expect(store.output.toString()).toBe("fresh");
    expect(store.getSnapshot().state).toBe("succeeded");
  });

  it("says why input could not be sent, and asks again", async () => {
    const client = createFakeClient({
      script: async (run) => {
        const name = await run.input("Name? ");
        run.stdout(`Hi ${name}\n`);
      },
    });
    const store = createRunStore();
    const done = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().prompt).toBe("Name? "));
    client.stdinFailure = new Error("The run is not waiting for input (409).");
    await expect(store.sendInput("Ada")).rejects.toThrow("409");
    expect(store.getSnapshot()).toMatchObject({ state: "running", prompt: "Name? " });
    expect(store.output.lines.map((l) => [l.stream, l.text + (l.input ?? "")])).toEqual([
      ["stdout", "Name? Ada"],
      ["info", "Your input could not be sent: The run is not waiting for input (409)."],
    ]);

    client.stdinFailure = null;
    await store.sendInput("Ada");
    await expect(done).resolves.toMatchObject({ status: "succeeded" });
    expect(store.output.toString()).toMatch(/Ada\nHi Ada$/);
  });

  it("says why stdin could not be closed, and asks again", async () => {
    const client = createFakeClient({
      script: async (run) => {
        await run.input("> ");
      },
    });
    const store = createRunStore();
    void store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().prompt).toBe("> "));
    client.stdinFailure = new Error("Network error: the server did not answer.");
    await expect(store.sendEof()).rejects.toThrow("Network error");
    expect(store.getSnapshot().prompt).toBe("> ");
    expect(store.output.lines.at(-1)).toMatchObject({
      stream: "info",
      text: "The program's input could not be closed: Network error: the server did not answer.",
    });
    store.reset();
  });

  it("does not bring back the prompt of a run that ended meanwhile", async () => {
    const answered = deferred();
    const client = createFakeClient({
      script: async (run) => {
        void run.input("? ");
        await answered.promise;
      },
    });
    const store = createRunStore();
    const done = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().prompt).toBe("? "));
    const reply = deferred();
    client.stdinGate = reply.promise;
    client.stdinFailure = new Error("The run has ended (409).");
    const sent = store.sendInput("x");
    answered.resolve();
    await done;
    reply.resolve();
    await expect(sent).rejects.toThrow("409");
    expect(store.getSnapshot()).toMatchObject({ state: "succeeded", prompt: null });
    expect(store.output.lines.at(-1)?.text).toBe(
      "Your input could not be sent: The run has ended (409).",
    );
  });

  it("reports the result and errors only of the run it follows", async () => {
    const lateA = deferred();
    let calls = 0;
    const client = createFakeClient({
      script: async (run) => {
        calls++;
        if (calls === 1) await lateA.promise;
        run.stdout(`run ${calls}\n`);
      },
    });
    // Run A does not stop when cancelled: its result comes after B's.
    client.honoursCancel = false;
    const onResult = vi.fn();
    const onError = vi.fn();
    const store = createRunStore();
    store.setOptions({ onResult, onError });
    const a = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().state).toBe("running"));
    const b = store.execute(client, req);
    await expect(b).resolves.toMatchObject({ id: "run-2" });
    lateA.resolve();
    await expect(a).resolves.toMatchObject({ id: "run-1" });
    expect(onResult).toHaveBeenCalledOnce();
    expect(onResult).toHaveBeenCalledWith(expect.objectContaining({ id: "run-2" }));

    client.failWith = new Error("no backend");
    const c = store.execute(client, req);
    client.failWith = null;
    const d = store.execute(client, req);
    await expect(c).rejects.toThrow("no backend");
    await d;
    expect(onError).not.toHaveBeenCalled();
    expect(onResult).toHaveBeenCalledTimes(2);
  });

  it("reports nothing for a run abandoned by reset", async () => {
    const gate = deferred();
    const client = createFakeClient({ script: () => gate.promise });
    client.honoursCancel = false;
    const onResult = vi.fn();
    const store = createRunStore();
    store.setOptions({ onResult });
    const done = store.execute(client, req);
    await vi.waitFor(() => expect(store.getSnapshot().state).toBe("running"));
    store.reset();
    gate.resolve();
    await done;
    expect(onResult).not.toHaveBeenCalled();
    expect(store.getSnapshot().state).toBe("idle");
  });

  it("reports an error when no backend could run the current run", async () => {
    const client = createFakeClient();
    client.failWith = new Error("no backend");
    const onError = vi.fn();
    const store = createRunStore();
    store.setOptions({ onError });
    await expect(store.execute(client, req)).rejects.toThrow();
    expect(onError).toHaveBeenCalledWith(client.failWith);
  });
});
