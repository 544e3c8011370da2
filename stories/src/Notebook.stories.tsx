import type { ClientOptions } from "@mecha/client";
import { CodeRunner, MechaProvider, type UseSessionResult, useSession } from "@mecha/react";
import type { Meta, StoryObj } from "@storybook/react-vite";
import { expect, userEvent, waitFor, within } from "storybook/test";
import { CELLS, notebookPython } from "./notebookPython";
import { BASE_URL, unreachable } from "./server";
import { serverWithSessions } from "./sessionServer";

/** The session in one line: where it is, or why there is none. */
function describeSession({ status, session, error }: UseSessionResult): string {
  switch (status) {
    case "idle":
      return "No session yet: it opens when you run a cell";
    case "opening":
      return "Opening a session…";
    case "ready":
      if (session?.backend === "mock") {
        return "Simulated session: the server is unreachable, nothing runs and nothing is kept between cells";
      }
      return session?.backend === "browser"
        ? `Session ${session.id} in your browser: variables kept between cells`
        : `Session ${session?.id} on the server: variables kept between cells`;
    case "lost":
      return "Session lost: its variables are gone";
    case "closed":
      return "Session closed";
    case "error":
      return `Could not open a session: ${error?.message}`;
  }
}

interface NotebookProps {
  /** The code of each cell, top to bottom. */
  cells: string[];
}

/**
 * A page of `<CodeRunner>` cells sharing one `useSession()`: a name one cell defines, the cells
 * after it can use, and a final expression's value shows as in a notebook. The session opens
 * with the first cell run; "Restart session" starts an empty one.
 */
function Notebook({ cells }: NotebookProps) {
  const session = useSession();
  return (
    <div style={{ display: "grid", gap: 16, minWidth: 0 }}>
      <div style={{ display: "flex", flexWrap: "wrap", alignItems: "center", gap: 8 }}>
        <output aria-label="Session" data-state={session.status} style={{ flex: 1 }}>
          {describeSession(session)}
        </output>
        <button
          type="button"
          onClick={() => void session.restart()}
          disabled={session.status === "opening"}
        >
          Restart session
        </button>
      </div>
      {session.status === "lost" && (
        <p role="alert" style={{ margin: 0 }}>
          The session was lost, and every variable, import and file in it. {session.error?.message}{" "}
          Restart the session, then run the cells again from the top.
        </p>
      )}
      {cells.map((code, index) => (
        <CodeRunner
          // biome-ignore lint/suspicious/noArrayIndexKey: a cell is its place in the notebook
          key={index}
          aria-label={`Cell ${index + 1}`}
          session={session}
          defaultCode={code}
        />
      ))}
    </div>
  );
}

interface NotebookArgs extends NotebookProps {
  /** Where the provider's client runs code when the server cannot (a client option). */
  fallback?: ClientOptions["fallback"];
}

const meta = {
  title: "Notebook",
  component: Notebook,
  render: ({ fallback = "none", ...args }: NotebookArgs) => (
    <MechaProvider options={{ baseUrl: BASE_URL, fallback }}>
      <Notebook {...args} />
    </MechaProvider>
  ),
  args: { cells: [CELLS.load, CELLS.table, CELLS.plot, CELLS.total] },
  argTypes: { cells: { control: "object" } },
  beforeEach({ msw }) {
    msw.use(...serverWithSessions(notebookPython));
  },
} satisfies Meta<NotebookArgs>;

export default meta;
type Story = StoryObj<typeof meta>;

/** What a story's play function reads and clicks, by role as a user finds them. */
function page(canvasElement: HTMLElement) {
  const canvas = within(canvasElement);
  const cell = (n: number) => within(canvas.getByRole("group", { name: `Cell ${n}` }));
  return {
    canvas,
    cell,
    session: () => canvas.getByRole("status", { name: "Session" }),
    status: (n: number) => cell(n).getByRole("status", { name: "Run status" }),
    output: (n: number) => cell(n).getByRole("log", { name: "Program output" }),
    badge: (n: number) => cell(n).getByRole("status", { name: "Backend" }),
    /** Runs cell `n` and waits until its run has ended. */
    async run(n: number) {
      await userEvent.click(cell(n).getByRole("button", { name: "Run" }));
      await waitFor(
        () =>
          expect(cell(n).getByRole("button", { name: "Run" })).toHaveAttribute(
            "aria-busy",
            "false",
          ),
        { timeout: 5_000 },
      );
    },
  };
}

/** Cells that build on each other in one session on the server: a DataFrame, a plot, a value. */
export const CellsInOneSession: Story = {
  play: async ({ canvasElement }) => {
    const { session, status, output, badge, run } = page(canvasElement);
    expect(session()).toHaveTextContent("No session yet");
    await run(1);
    expect(status(1)).toHaveTextContent(/^Finished in /);
    expect(output(1)).toHaveTextContent("3 cities loaded");
    expect(session()).toHaveTextContent(/^Session story-session-\d+ on the server/);
    // The second cell uses the first one's DataFrame; its value shows as a styled table.
    await run(2);
    await waitFor(() => expect(within(output(2)).getByRole("table")).toHaveTextContent("Pune143"), {
      timeout: 5_000,
    });
    await run(3);
    const figure = within(output(3)).getByRole("img", {
      name: "<Figure size 640x480 with 1 Axes>",
    });
    expect(figure.getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    await run(4);
    expect(output(4)).toHaveTextContent("358");
    for (const n of [1, 2, 3, 4]) expect(badge(n)).toHaveTextContent("Session on the server");
  },
};

/** A cell kills the session's interpreter: every cell says so until a restart, which starts empty. */
export const SessionLost: Story = {
  args: { cells: [CELLS.load, CELLS.table, CELLS.hog] },
  play: async ({ canvasElement }) => {
    const { canvas, session, status, output, badge, run } = page(canvasElement);
    await run(1);
    await run(3);
    expect(status(3)).toHaveTextContent(
      "Stopped: memory limit of 256 MiB reached · the session was lost, and its variables with it",
    );
    expect(session()).toHaveTextContent("Session lost: its variables are gone");
    expect(canvas.getByRole("alert")).toHaveTextContent("run the cells again from the top");
    for (const n of [1, 2, 3]) expect(badge(n)).toHaveTextContent("Session lost");
    // Nothing runs in a lost session, and nothing pretends to.
    await run(2);
    expect(status(2)).toHaveTextContent(/^Could not run the code: The session was lost/);

    await userEvent.click(canvas.getByRole("button", { name: "Restart session" }));
    await waitFor(() => expect(session()).toHaveTextContent(/on the server/), { timeout: 5_000 });
    expect(canvas.queryByRole("alert")).toBeNull();
    // The new session is empty: the DataFrame has to be loaded again.
    await run(2);
    expect(status(2)).toHaveTextContent("Failed on line 1: NameError: name 'sales' is not defined");
    await run(1);
    await run(2);
    await waitFor(() => expect(within(output(2)).getByRole("table")).toHaveTextContent("Oslo120"), {
      timeout: 5_000,
    });
  },
};

/**
 * The server cannot be reached and the client's fallback is the mock: the session is simulated,
 * and the page says that nothing runs and nothing is kept, rather than showing a notebook.
 */
export const ServerUnreachable: Story = {
  args: { fallback: "mock" },
  beforeEach({ msw }) {
    msw.use(...unreachable);
  },
  play: async ({ canvasElement }) => {
    const { session, status, badge, run } = page(canvasElement);
    // The client tries the server (and retries) before it falls back.
    await run(1);
    expect(status(1)).toHaveTextContent("Simulated output: this code was not run");
    expect(session()).toHaveTextContent(/^Simulated session: .*nothing is kept between cells/);
    expect(badge(1)).toHaveTextContent("Simulated: no state is kept");
    // A later cell is simulated too: no NameError, and no table either.
    await run(2);
    expect(status(2)).toHaveTextContent("Simulated output: this code was not run");
    expect(within(canvasElement).queryByRole("table")).toBeNull();
  },
};
