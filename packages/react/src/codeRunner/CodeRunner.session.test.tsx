import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { MechaProvider } from "../MechaProvider";
import { dataFrame, plot } from "../test/displays";
import {
  createFakeClient,
  createFakeSessions,
  deferred,
  type FakeClient,
  type FakeScript,
  type FakeSessions,
} from "../test/fakeClient";
import { useSession } from "../useSession";
import { CodeRunner } from "./CodeRunner";

/** A notebook's Python, played by the fake client: cells see what earlier cells defined. */
const notebook: FakeScript = async (run) => {
  switch (run.request.code) {
    case "df = load()":
      return;
    case "df":
      run.display(dataFrame);
      return;
    case "df.plot()":
      run.stdout("drawing\n");
      run.display(plot);
      return;
    case "name = input('Name? ')":
      await run.input("Name? ");
      return;
    default:
      run.stderr("NameError: name 'df' is not defined\n");
      return { status: "failed", exitCode: 1 };
  }
};

function Notebook({ cells, sessions }: { cells: string[]; sessions: FakeSessions }) {
  const session = useSession({ createSession: sessions.open });
  return (
    <>
      <p role="status" aria-label="Session">
        {session.status}
      </p>
      <button type="button" onClick={() => void session.restart()}>
        Restart
      </button>
      {cells.map((code, index) => (
        <CodeRunner
          key={code}
          aria-label={`Cell ${index + 1}`}
          session={session}
          defaultCode={code}
          limits={{ timeoutMs: 5000 }}
          request={{ returnFiles: ["*.csv"] }}
        />
      ))}
    </>
  );
}

function setup(cells: string[], client: FakeClient = createFakeClient({ script: notebook })) {
  const sessions = createFakeSessions();
  render(
    <MechaProvider client={client} healthChecks={false}>
      <Notebook cells={cells} sessions={sessions} />
    </MechaProvider>,
  );
  const user = userEvent.setup();
  const cell = (n: number) => screen.getByRole("group", { name: `Cell ${n}` });
  const run = async (n: number) => {
    await user.click(within(cell(n)).getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(within(cell(n)).getByRole("button", { name: "Run" })).toHaveAttribute(
        "aria-busy",
        "false",
      ),
    );
  };
  const status = (n: number) => within(cell(n)).getByRole("status", { name: "Run status" });
  const output = (n: number) => within(cell(n)).getByRole("log", { name: "Program output" });
  const badge = (n: number) => within(cell(n)).getByRole("status", { name: "Backend" });
  return { client, sessions, user, cell, run, status, output, badge };
}

describe("<CodeRunner session>", () => {
  it("runs cells in one session, so they build on each other, and shows their displays", async () => {
    const { client, sessions, run, status, output, badge } = setup([
      "df = load()",
      "df",
      "df.plot()",
    ]);
    // Until the session opens, the badge says where code runs; then where the session lives.
    expect(badge(1)).toHaveTextContent("Runs on the server");
    await run(1);
    expect(badge(3)).toHaveTextContent("Session on the server");
    expect(badge(3)).toHaveAttribute("data-session", "ready");
    await run(2);
    await run(3);
    expect(sessions.opened).toHaveLength(1);
    expect(sessions.opened[0]!.codes).toEqual(["df = load()", "df", "df.plot()"]);
    // A session run takes the runner's limits and returnFiles; its language is the session's.
    expect(client.requests[0]).toEqual({
      language: "python",
      code: "df = load()",
      limits: { timeoutMs: 5000 },
      returnFiles: ["*.csv"],
    });
    expect(status(2)).toHaveTextContent(/^Finished/);
    // The second cell's final expression is its DataFrame; the third draws a plot.
    await waitFor(() => expect(within(output(2)).getByRole("table")).toHaveTextContent("Oslo"));
    expect(
      within(output(3)).getByRole("img", { name: "<Figure size 640x480 with 1 Axes>" }),
    ).toBeInTheDocument();
    expect(output(3)).toHaveTextContent("drawing");
  });

  it("answers input() in a session run from the terminal", async () => {
    const { user, cell, status, sessions } = setup(["name = input('Name? ')"]);
    await user.click(within(cell(1)).getByRole("button", { name: "Run" }));
    await user.type(await within(cell(1)).findByRole("textbox", { name: "Name?" }), "Ada{Enter}");
    await waitFor(() => expect(status(1)).toHaveTextContent(/^Finished/));
    expect(sessions.opened[0]!.codes).toEqual(["name = input('Name? ')"]);
  });

  it("stops a run whose session is still opening: nothing runs", async () => {
    const { user, cell, status, sessions } = setup(["df = load()"]);
    const gate = deferred();
    sessions.gate = gate.promise;
    await user.click(within(cell(1)).getByRole("button", { name: "Run" }));
    await user.click(within(cell(1)).getByRole("button", { name: "Stop" }));
    gate.resolve();
    await waitFor(() => expect(status(1)).toHaveTextContent("Stopped"));
    await waitFor(() => expect(sessions.opened).toHaveLength(1));
    expect(sessions.opened[0]!.codes).toEqual([]);
  });

  it("says when a run lost the session, refuses the next cell until a restart", async () => {
    const client = createFakeClient({
      script: async (fake) =>
        fake.request.code === "crash()"
          ? {
              status: "failed",
              exitCode: null,
              signal: "SIGKILL",
              session: { id: "session-1", state: "lost" },
            }
          : undefined,
    });
    const { user, run, status, sessions, badge } = setup(["crash()", "x = 1"], client);
    await run(1);
    expect(status(1)).toHaveTextContent("the session was lost, and its variables with it");
    expect(screen.getByRole("status", { name: "Session" })).toHaveTextContent("lost");
    // Every cell of the session says so, not only the one whose run lost it.
    for (const n of [1, 2]) {
      expect(badge(n)).toHaveTextContent("Session lost");
      expect(badge(n)).toHaveAttribute("data-state", "offline");
    }
    await run(2);
    expect(status(2)).toHaveTextContent(/^Could not run the code: The session was lost/);
    await user.click(screen.getByRole("button", { name: "Restart" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Session" })).toHaveTextContent("ready"),
    );
    expect(badge(2)).toHaveTextContent("Session on the server");
    await run(2);
    expect(status(2)).toHaveTextContent(/^Finished/);
    expect(sessions.opened.map((session) => session.codes)).toEqual([["crash()"], ["x = 1"]]);
  });

  it("takes a Session of @mecha/client/session as it is", async () => {
    const client = createFakeClient({ script: notebook });
    const session = await createFakeSessions().open(client);
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner session={session} defaultCode="df" />
      </MechaProvider>,
    );
    await userEvent.setup().click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(screen.getByRole("table")).toHaveTextContent("Lima"));
    expect(session.codes).toEqual(["df"]);
  });
});
