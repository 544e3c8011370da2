// @vitest-environment node
import { describe, expect, it, vi } from "vitest";
import { createRunSession } from "./createRunSession";
import { createFakeClient, deferred } from "./test/fakeClient";

const req = { language: "python" as const, code: "print(1)" };

describe("createRunSession", () => {
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
    const session = createRunSession();
    const states: string[] = [];
    session.subscribe(() => states.push(session.getSnapshot().state));
    const done = session.execute(client, req);
    expect(session.getSnapshot().state).toBe("queued");
    await vi.waitFor(() => expect(session.output.lines).toHaveLength(1));
    expect(session.getSnapshot().state).toBe("running");
    gate.resolve();
    const outcome = await done;
    expect(outcome.status).toBe("failed");
    expect(session.getSnapshot()).toMatchObject({
      state: "failed",
      backend: "server",
      prompt: null,
    });
    expect(session.output.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stderr", "two"],
    ]);
    expect(states[0]).toBe("queued");
    expect(states.at(-1)).toBe("failed");
  });

  it("reports input prompts and sends the answer with a newline", async () => {
    const client = createFakeClient({
      script: async (run) => {
        const name = await run.input("Name? ");
        run.stdout(`Hi ${name}\n`);
      },
    });
    const session = createRunSession();
    const done = session.execute(client, req);
    await vi.waitFor(() => expect(session.getSnapshot().prompt).toBe("Name? "));
    await session.sendInput("Ada");
    await done;
    expect(session.output.toString()).toBe("Name? Ada\nHi Ada");
  });

  it("stops a run: it ends as cancelled", async () => {
    const client = createFakeClient({ script: () => new Promise(() => {}) });
    const session = createRunSession();
    const done = session.execute(client, req);
    await vi.waitFor(() => expect(session.getSnapshot().state).toBe("running"));
    await session.stop();
    await expect(done).resolves.toMatchObject({ status: "cancelled" });
    expect(session.getSnapshot().state).toBe("cancelled");
  });

  it("is in state error when no backend could run the code", async () => {
    const client = createFakeClient();
    client.failWith = new Error("server offline and no fallback");
    const session = createRunSession();
    await expect(session.execute(client, req)).rejects.toThrow("no fallback");
    expect(session.getSnapshot()).toMatchObject({ state: "error" });
    expect(session.getSnapshot().error?.message).toMatch("no fallback");
  });

  it("writes the result's output when the backend did not stream it", async () => {
    const client = createFakeClient({
      script: async () => ({ stdout: "from result\n", stderr: "" }),
    });
    const session = createRunSession();
    await session.execute(client, req);
    expect(session.output.toString()).toBe("from result");
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
    const session = createRunSession();
    const a = session.execute(client, req);
    await vi.waitFor(() => expect(session.getSnapshot().state).toBe("running"));
    const b = session.execute(client, req);
    first.resolve();
    await Promise.all([a, b]);
    expect(session.output.toString()).toBe("fresh");
    expect(session.getSnapshot().state).toBe("succeeded");
  });
});
