import { createClient } from "@mecha/client";
import type { HealthResponse, RunEvent, RunResult } from "@mecha/protocol";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CodeRunner, MechaProvider, useSession } from "../src/index";

/**
 * `useSession` and `<CodeRunner session>` with the real client (`createSession` of
 * `@mecha/client/session`) against the session routes of DESIGN.md, answered by msw.
 */

const BASE = "http://mecha.test";

const health: HealthResponse = {
  status: "ok",
  version: "0.1.0",
  protocol: 1,
  runtimes: [{ language: "python", version: "3.11.2", isolation: "sandbox" }],
  capacity: { running: 0, queued: 0, maxConcurrent: 2, maxQueued: 8 },
  uptimeMs: 5000,
};

function result(partial: Partial<RunResult>): RunResult {
  return {
    id: "r",
    language: "python",
    status: "succeeded",
    exitCode: 0,
    signal: null,
    stdout: "",
    stderr: "",
    truncated: false,
    durationMs: 5,
    cpuTimeMs: 4,
    memoryKb: 8000,
    ...partial,
  };
}

const ndjson = (events: RunEvent[]) =>
  new HttpResponse(events.map((event) => `${JSON.stringify(event)}\n`).join(""), {
    headers: { "content-type": "application/x-ndjson" },
  });

/** A server whose sessions keep `x` between runs, as Python's globals would. */
function sessionServer() {
  const log: string[] = [];
  const sessions = new Map<string, Record<string, number>>();
  let runs = 0;
  let opened = 0;
  server.use(
    http.get(`${BASE}/health`, () => HttpResponse.json(health)),
    http.post(`${BASE}/sessions`, () => {
      const id = `s${++opened}`;
      sessions.set(id, {});
      log.push(`POST /sessions → ${id}`);
      return HttpResponse.json({ id, expiresAt: "2030-01-01T00:00:00.000Z" }, { status: 201 });
    }),
    http.post(`${BASE}/sessions/:id/runs`, async ({ params, request }) => {
      const id = String(params.id);
      const globals = sessions.get(id);
      const { code } = (await request.json()) as { code: string };
      log.push(`run in ${id}: ${code}`);
      if (!globals) {
        return HttpResponse.json(
          { type: "about:blank", title: "Gone", status: 410, detail: "lost", code: "session_lost" },
          { status: 410, headers: { "content-type": "application/problem+json" } },
        );
      }
      const runId = `r${++runs}`;
      const session = { id, state: "kept" as const };
      const assignment = /^x = (\d+)$/.exec(code);
      if (assignment) {
        globals.x = Number(assignment[1]);
        return ndjson([
          { type: "started", seq: 0, id: runId },
          { type: "exit", seq: 1, result: result({ id: runId, session }) },
        ]);
      }
      const value = { data: { "text/plain": String((globals.x ?? 0) + 1) } };
      return ndjson([
        { type: "started", seq: 0, id: runId },
        { type: "display", seq: 1, ...value },
        { type: "exit", seq: 2, result: result({ id: runId, session, displays: [value] }) },
      ]);
    }),
    http.delete(`${BASE}/sessions/:id`, ({ params }) => {
      log.push(`DELETE /sessions/${params.id}`);
      sessions.delete(String(params.id));
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return { log, sessions };
}

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

function Notebook() {
  const session = useSession();
  return (
    <>
      <p role="status" aria-label="Session">
        {session.status}
      </p>
      <button type="button" onClick={() => void session.restart()}>
        Restart
      </button>
      <CodeRunner aria-label="Cell 1" session={session} defaultCode="x = 41" />
      <CodeRunner aria-label="Cell 2" session={session} defaultCode="x + 1" />
    </>
  );
}

function renderNotebook() {
  const client = createClient({ baseUrl: BASE, retry: { limit: 0 }, onWarning: () => {} });
  const view = render(
    <MechaProvider client={client}>
      <Notebook />
    </MechaProvider>,
  );
  const user = userEvent.setup();
  const cell = (n: number) => screen.getByRole("group", { name: `Cell ${n}` });
  const run = async (n: number) => {
    await user.click(within(cell(n)).getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(within(cell(n)).getByRole("status", { name: "Run status" })).not.toHaveTextContent(
        /Ready|Starting|Running/,
      ),
    );
  };
  /** Unmounts (closing the session) and stops the client, while the handlers still answer. */
  const end = async (log: string[], id: string) => {
    view.unmount();
    await waitFor(() => expect(log).toContain(`DELETE /sessions/${id}`));
    client.dispose();
  };
  return { view, user, cell, run, end };
}

describe("a notebook of CodeRunners on the real client's session", () => {
  it("opens one session, runs the cells in it, shows the value, and deletes it on unmount", async () => {
    const { log } = sessionServer();
    const { cell, run, end } = renderNotebook();
    await run(1);
    await run(2);
    const output = within(cell(2)).getByRole("log", { name: "Program output" });
    expect(output.querySelector('[data-stream="display"]')).toHaveTextContent("42");
    expect(screen.getByRole("status", { name: "Session" })).toHaveTextContent("ready");
    await end(log, "s1");
    expect(log).toEqual([
      "POST /sessions → s1",
      "run in s1: x = 41",
      "run in s1: x + 1",
      "DELETE /sessions/s1",
    ]);
  });

  it("turns lost on 410 session_lost, and a restart opens a new session", async () => {
    const { sessions, log } = sessionServer();
    const { cell, run, user, end } = renderNotebook();
    await run(1);
    sessions.delete("s1");
    await run(2);
    expect(within(cell(2)).getByRole("status", { name: "Run status" })).toHaveTextContent(
      /^Could not run the code/,
    );
    expect(screen.getByRole("status", { name: "Session" })).toHaveTextContent("lost");
    await user.click(screen.getByRole("button", { name: "Restart" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Session" })).toHaveTextContent("ready"),
    );
    await run(2);
    // A fresh interpreter: x is gone, so x + 1 is 1.
    expect(
      within(cell(2))
        .getByRole("log", { name: "Program output" })
        .querySelector('[data-stream="display"]'),
    ).toHaveTextContent("1");
    expect(log).toContain("POST /sessions → s2");
    await end(log, "s2");
  });
});
