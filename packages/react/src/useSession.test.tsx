import { HttpError } from "@mecha/client";
import { act, renderHook, waitFor } from "@testing-library/react";
import { type ReactNode, StrictMode } from "react";
import { describe, expect, it } from "vitest";
import { MechaProvider } from "./MechaProvider";
import { isMechaReactError } from "./MechaReactError";
import {
  createFakeClient,
  createFakeSessions,
  deferred,
  type FakeSessions,
} from "./test/fakeClient";
import { type UseSessionOptions, useSession } from "./useSession";

function setup(options: Omit<UseSessionOptions, "createSession"> = {}, strict = false) {
  const client = createFakeClient({
    script: async (run) => {
      if (run.request.code === "x + 1") run.display({ data: { "text/plain": "42" } });
    },
  });
  const sessions = createFakeSessions();
  const wrapper = ({ children }: { children: ReactNode }) => {
    const tree = (
      <MechaProvider client={client} healthChecks={false}>
        {children}
      </MechaProvider>
    );
    return strict ? <StrictMode>{tree}</StrictMode> : tree;
  };
  const hook = renderHook(() => useSession({ ...options, createSession: sessions.open }), {
    wrapper,
  });
  return { client, sessions, hook, session: () => hook.result.current };
}

const problem = (code: string, status: number) =>
  new HttpError(`The server answered ${status} ${code}.`, {
    status,
    problem: { type: "about:blank", title: code, status, detail: code, code } as never,
  });

/** The sessions opened that are still open. */
const open = (sessions: FakeSessions) => sessions.opened.filter((session) => !session.closed);

describe("useSession", () => {
  it("opens with the first run, not on mount, and runs every cell in that one session", async () => {
    const { sessions, session } = setup({ limits: { timeoutMs: 5000 } });
    expect(session().status).toBe("idle");
    expect(sessions.opened).toHaveLength(0);
    await act(() => session().run("x = 41"));
    const outcome = await act(() => session().run("x + 1"));
    expect(sessions.opened).toHaveLength(1);
    expect(sessions.opened[0]!.options).toMatchObject({ limits: { timeoutMs: 5000 } });
    expect(sessions.opened[0]!.codes).toEqual(["x = 41", "x + 1"]);
    expect(outcome.displays).toEqual([{ data: { "text/plain": "42" } }]);
    expect(session()).toMatchObject({ status: "ready", error: null });
    expect(session().session?.id).toBe("session-1");
  });

  it("opens on mount with eager, saying opening until it is ready", async () => {
    const client = createFakeClient();
    const sessions = createFakeSessions();
    const gate = deferred();
    sessions.gate = gate.promise;
    const { result } = renderHook(() => useSession({ eager: true, createSession: sessions.open }), {
      wrapper: ({ children }) => (
        <MechaProvider client={client} healthChecks={false}>
          {children}
        </MechaProvider>
      ),
    });
    await waitFor(() => expect(result.current.status).toBe("opening"));
    await act(async () => gate.resolve());
    await waitFor(() => expect(result.current.status).toBe("ready"));
  });

  it("says why it could not open, and tries again with the next run", async () => {
    const { sessions, session } = setup();
    sessions.failWith = problem("busy", 503);
    await act(() =>
      session()
        .run("x = 1")
        .catch(() => {}),
    );
    expect(session().status).toBe("error");
    expect(session().error?.message).toMatch(/503 busy/);
    sessions.failWith = null;
    await act(() => session().run("x = 1"));
    expect(session().status).toBe("ready");
  });

  it("turns lost when a run's result says the session is gone, and restart starts afresh", async () => {
    const { client, sessions, session } = setup();
    await act(() => session().run("x = 41"));
    client.script = async () => ({
      status: "memory_exceeded",
      exitCode: null,
      signal: "SIGKILL",
      session: { id: "session-1", state: "lost" },
    });
    await act(() => session().run("big = bytearray(10**10)"));
    expect(session().status).toBe("lost");
    expect(session().error?.message).toMatch(/lost when its run ended \(memory_exceeded\)/);
    // No silent new session whose missing variables would fail every later cell.
    const refused = await act(() =>
      session()
        .run("x")
        .catch((error: unknown) => error),
    );
    expect(isMechaReactError(refused) && refused.code).toBe("session_lost");
    expect(sessions.opened).toHaveLength(1);

    client.script = async () => {};
    await act(() => session().restart());
    expect(session().status).toBe("ready");
    expect(session().session?.id).toBe("session-2");
    expect(sessions.opened[0]!.closed).toBe(true);
    await act(() => session().run("x = 1"));
    expect(sessions.opened[1]!.codes).toEqual(["x = 1"]);
  });

  it.each([
    ["session_lost", 410],
    ["not_found", 404],
  ])("turns lost when a run is refused with %s", async (code, status) => {
    const { client, session } = setup();
    await act(() => session().run("x = 41"));
    client.failWith = problem(code, status);
    await act(() =>
      session()
        .run("x")
        .catch(() => {}),
    );
    expect(session().status).toBe("lost");
    expect(session().error).toBe(client.failWith);
  });

  it("stays ready after a run that failed in it: the state is kept", async () => {
    const { client, session } = setup();
    client.script = async () => ({ status: "failed", exitCode: 1 });
    await act(() => session().run("1 / 0"));
    expect(session().status).toBe("ready");
  });

  it("closes the session on close(), and a later run needs restart", async () => {
    const { sessions, session } = setup();
    await act(() => session().run("x = 1"));
    await act(() => session().close());
    expect(session().status).toBe("closed");
    expect(sessions.opened[0]!.closed).toBe(true);
    const refused = await act(() =>
      session()
        .run("x")
        .catch((error: unknown) => error),
    );
    expect(isMechaReactError(refused) && refused.code).toBe("session_closed");
  });

  it("closes the session when the component unmounts", async () => {
    const { sessions, session, hook } = setup();
    await act(() => session().run("x = 1"));
    hook.unmount();
    expect(sessions.opened[0]!.closed).toBe(true);
  });

  it("closes a session that finishes opening after the component unmounted", async () => {
    const { sessions, session, hook } = setup();
    const gate = deferred();
    sessions.gate = gate.promise;
    const run = session()
      .run("x = 1")
      .catch((error: unknown) => error);
    hook.unmount();
    gate.resolve();
    expect(isMechaReactError(await run)).toBe(true);
    expect(sessions.opened).toHaveLength(1);
    expect(open(sessions)).toHaveLength(0);
  });

  it("leaves exactly one session open under StrictMode's double effects", async () => {
    const { sessions, session } = setup({ eager: true }, true);
    await waitFor(() => expect(session().status).toBe("ready"));
    await act(() => session().run("x = 1"));
    expect(open(sessions)).toHaveLength(1);
    expect(open(sessions)[0]!.codes).toEqual(["x = 1"]);
  });
});
