import { undo } from "@codemirror/commands";
import { EditorView } from "@codemirror/view";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { StrictMode } from "react";
import { describe, expect, it, vi } from "vitest";
import type { ClientStatus } from "../internal/clientTypes";
import { MechaProvider } from "../MechaProvider";
import { expectNoAxeViolations } from "../test/axe";
import { createFakeClient, deferred, type FakeClient, type FakeScript } from "../test/fakeClient";
import { CodeRunner, type CodeRunnerProps } from "./CodeRunner";

/** Waits until CodeMirror, which loads when the editor mounts, has replaced the plain text area. */
async function editorLoaded(container: HTMLElement) {
  await waitFor(() => {
    expect(container.querySelector(".mecha-editor .cm-content")).not.toBeNull();
    expect(container.querySelector(".mecha-editor-fallback")).toBeNull();
  });
}

async function setup(
  props: CodeRunnerProps = {},
  options: { script?: FakeScript; status?: ClientStatus; client?: FakeClient } = {},
) {
  const client = options.client ?? createFakeClient(options);
  const user = userEvent.setup();
  const view = render(
    <MechaProvider client={client} healthChecks={false}>
      <CodeRunner defaultCode={'print("hello")'} {...props} />
    </MechaProvider>,
  );
  await editorLoaded(view.container);
  return {
    client,
    user,
    ...view,
    runButton: () => screen.getByRole("button", { name: /^(Run|Stop)$/ }),
    editor: () => screen.getByRole("textbox", { name: "Python code" }),
    output: () => screen.getByRole("log", { name: "Program output" }),
    runStatus: () => screen.getByRole("status", { name: "Run status" }),
    backend: () => screen.getByRole("status", { name: "Backend" }),
  };
}

describe("<CodeRunner>", () => {
  it("shows the code in an editor, a Run button, where code runs, and an empty output", async () => {
    const { editor, runButton, backend, output, runStatus } = await setup();
    expect(editor()).toHaveTextContent('print("hello")');
    expect(runButton()).toHaveAccessibleName("Run");
    expect(runButton()).toHaveAttribute("aria-busy", "false");
    expect(backend()).toHaveTextContent("Runs on the server");
    expect(backend()).toHaveAttribute("data-state", "server");
    expect(output().querySelectorAll("[data-stream]")).toHaveLength(0);
    expect(runStatus()).toHaveTextContent("Ready");
  });

  it("runs the code: busy Stop button while running, then output and figures", async () => {
    const gate = deferred();
    const onResult = vi.fn();
    const { user, client, runButton, output, runStatus, container } = await setup(
      { limits: { timeoutMs: 3000 }, onResult },
      {
        script: async (run) => {
          run.stdout("\x1b[32mhello\x1b[0m\n");
          await gate.promise;
          return { durationMs: 1250, memoryKb: 10_240, cpuTimeMs: 40 };
        },
      },
    );
    await user.click(runButton());
    expect(runButton()).toHaveAccessibleName("Stop");
    expect(runButton()).toHaveAttribute("aria-busy", "true");
    expect(await within(output()).findByText("hello")).toBeInTheDocument();
    expect(runStatus()).toHaveTextContent("Running…");
    expect(container.firstElementChild).toHaveAttribute("data-state", "running");

    act(() => gate.resolve());
    await waitFor(() => expect(runStatus()).toHaveTextContent("Finished in 1.25 s"));
    expect(runButton()).toHaveAccessibleName("Run");
    expect(runButton()).toHaveAttribute("aria-busy", "false");
    const figures = screen.getAllByRole("definition");
    expect(figures.map((f) => f.textContent)).toEqual([
      "1.25 s",
      "40 ms",
      "10.0 MiB",
      "code 0",
      "server",
    ]);
    expect(client.requests[0]).toEqual({
      language: "python",
      code: 'print("hello")',
      limits: { timeoutMs: 3000 },
    });
    expect(onResult).toHaveBeenCalledWith(expect.objectContaining({ status: "succeeded" }));
  });

  it("runs with Ctrl+Enter from the editor, and stops with it", async () => {
    const { user, editor, runButton, runStatus } = await setup(
      {},
      { script: (run) => run.cancelled.then(() => ({})) },
    );
    await user.click(editor());
    await user.keyboard("{Control>}{Enter}{/Control}");
    await waitFor(() => expect(runButton()).toHaveAttribute("aria-busy", "true"));
    expect(editor()).toHaveTextContent('print("hello")');
    await user.keyboard("{Control>}{Enter}{/Control}");
    await waitFor(() => expect(runStatus()).toHaveTextContent("Stopped"));
  });

  it("stops a running program", async () => {
    const { user, runButton, runStatus, container } = await setup(
      {},
      { script: (run) => new Promise(() => run.stdout("forever\n")) },
    );
    await user.click(runButton());
    await user.click(await screen.findByRole("button", { name: "Stop" }));
    await waitFor(() => expect(runStatus()).toHaveTextContent("Stopped"));
    expect(container.firstElementChild).toHaveAttribute("data-state", "cancelled");
    expect(runButton()).toHaveAccessibleName("Run");
  });

  it("marks the failing line in the editor and says what failed", async () => {
    const { user, runButton, runStatus, editor, output } = await setup(
      { defaultCode: "x = 1\nprint(y)\n" },
      {
        script: async (run) => {
          run.stderr(
            "Traceback (most recent call last):\n  File \"main.py\", line 2\nNameError: name 'y' is not defined\n",
          );
          return {
            status: "failed",
            exitCode: 1,
            error: {
              type: "NameError",
              message: "name 'y' is not defined",
              line: 2,
              traceback: "Traceback…",
            },
          };
        },
      },
    );
    await user.click(runButton());
    await waitFor(() =>
      expect(runStatus()).toHaveTextContent("Failed on line 2: NameError: name 'y' is not defined"),
    );
    const marked = editor().querySelector(".mecha-editor-errorLine");
    expect(marked).toHaveTextContent("print(y)");
    expect(marked).toHaveAttribute("data-state", "error");
    expect(
      within(output())
        .getByText(/NameError/)
        .closest("[data-stream]"),
    ).toHaveAttribute("data-stream", "stderr");
  });

  it("answers input() from the terminal", async () => {
    const { user, runButton, output } = await setup(
      {},
      {
        script: async (run) => {
          const name = await run.input("Name? ");
          run.stdout(`Hi ${name}\n`);
        },
      },
    );
    await user.click(runButton());
    const input = await screen.findByRole("textbox", { name: "Name?" });
    await waitFor(() => expect(input).toHaveFocus());
    expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
      "Waiting for input",
    );
    await user.keyboard("Ada{Enter}");
    await waitFor(() => expect(output()).toHaveTextContent("Name? AdaHi Ada"));
    expect(screen.queryByRole("textbox", { name: "Name?" })).not.toBeInTheDocument();
    expect(within(output()).getByText("Ada")).toHaveAttribute("data-stream", "stdin");
  });

  it("says when an answer to input() could not be sent, and lets the user send it again", async () => {
    const { user, client, runButton, output } = await setup(
      {},
      {
        script: async (run) => {
          const name = await run.input("Name? ");
          run.stdout(`Hi ${name}\n`);
        },
      },
    );
    await user.click(runButton());
    const input = await screen.findByRole("textbox", { name: "Name?" });
    await waitFor(() => expect(input).toHaveFocus());
    client.stdinFailure = new Error("The server answered 409: the run is not waiting for input.");
    await user.keyboard("Ada{Enter}");

    const note = await within(output()).findByText(
      "Your input could not be sent: The server answered 409: the run is not waiting for input.",
    );
    expect(note.closest("[data-stream]")).toHaveAttribute("data-stream", "info");
    const again = await screen.findByRole("textbox", { name: "Name?" });
    await waitFor(() => expect(again).toHaveValue("Ada"));
    await waitFor(() => expect(again).toHaveFocus());
    expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent(
      "Waiting for input",
    );

    client.stdinFailure = null;
    await user.keyboard("{Enter}");
    await waitFor(() => expect(output()).toHaveTextContent(/Hi Ada$/));
    expect(screen.queryByRole("textbox", { name: "Name?" })).not.toBeInTheDocument();
  });

  it("says when output is simulated because the server is offline", async () => {
    const client = createFakeClient({ status: "offline" });
    client.backend = "mock";
    const { user, runButton, backend, runStatus } = await setup({}, { client });
    expect(backend()).toHaveTextContent("Offline");
    await user.click(runButton());
    await waitFor(() =>
      expect(runStatus()).toHaveTextContent("Simulated output: this code was not run"),
    );
    expect(backend()).toHaveTextContent("Simulated: server offline");
    expect(backend()).toHaveAttribute("data-state", "simulated");
    act(() => client.setStatus("online"));
    expect(backend()).toHaveTextContent("Runs on the server");
  });

  it("says when no backend could run the code", async () => {
    const client = createFakeClient({ status: "offline" });
    client.failWith = new Error("The server is unreachable and no fallback is configured.");
    const { user, runButton, runStatus } = await setup({}, { client });
    await user.click(runButton());
    await waitFor(() =>
      expect(runStatus()).toHaveTextContent(
        "Could not run the code: The server is unreachable and no fallback is configured.",
      ),
    );
  });

  it.each([
    ["timed_out", "Timed out after 2.00 s"],
    ["memory_exceeded", "Stopped: memory limit reached"],
    ["output_exceeded", "Stopped: output limit reached"],
  ] as const)("reports %s in words", async (status, words) => {
    const { user, runButton, runStatus } = await setup(
      {},
      { script: async () => ({ status, exitCode: null, signal: "SIGKILL", durationMs: 2000 }) },
    );
    await user.click(runButton());
    await waitFor(() => expect(runStatus()).toHaveTextContent(words));
    expect(screen.getAllByRole("definition").map((d) => d.textContent)).toContain("signal SIGKILL");
  });

  it("names the output limit a run hit, with its size, and marks the cut in the terminal", async () => {
    const { user, runButton, runStatus, output } = await setup(
      {},
      {
        script: async (run) => {
          run.stdout("x".repeat(40));
          return {
            status: "output_exceeded",
            truncated: true,
            exitCode: null,
            signal: "SIGKILL",
            limits: { timeoutMs: 10_000, memoryMb: 256, outputBytes: 1 << 20 },
          };
        },
      },
    );
    await user.click(runButton());
    await waitFor(() =>
      expect(runStatus()).toHaveTextContent("Stopped: output limit of 1 MiB reached"),
    );
    const rows = [...output().querySelectorAll("[data-stream]")];
    expect(rows.map((row) => row.textContent)).toEqual([
      "x".repeat(40),
      "\u2702 Output cut here: output limit of 1 MiB reached",
    ]);
    expect(rows[1]).toHaveAttribute("data-stream", "info");
  });

  it("follows a controlled code prop, and reports edits", async () => {
    const onCodeChange = vi.fn();
    const client = createFakeClient();
    const { rerender, user } = await setup({ code: "a = 1", onCodeChange }, { client });
    const editor = screen.getByRole("textbox", { name: "Python code" });
    expect(editor).toHaveTextContent("a = 1");
    rerender(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner code="b = 2" onCodeChange={onCodeChange} />
      </MechaProvider>,
    );
    expect(editor).toHaveTextContent("b = 2");
    expect(onCodeChange).not.toHaveBeenCalled();
    await user.click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(client.requests[0]?.code).toBe("b = 2"));
  });

  it("reports edits made in the editor and runs the edited code", async () => {
    // jsdom has no text input for contenteditable; edit through the editor's own view instead
    // (real typing is covered by the browser tests).
    const onCodeChange = vi.fn();
    const { user, editor, client, runButton } = await setup({ defaultCode: "", onCodeChange });
    const view = EditorView.findFromDOM(editor())!;
    act(() => view.dispatch({ changes: { from: 0, insert: "x = 1" }, userEvent: "input.type" }));
    expect(onCodeChange).toHaveBeenLastCalledWith("x = 1");
    await user.click(runButton());
    await waitFor(() => expect(client.requests[0]?.code).toBe("x = 1"));
  });

  it("shows the code in a plain, labelled, editable text area until CodeMirror has loaded", async () => {
    const onCodeChange = vi.fn();
    const { container } = render(
      <MechaProvider client={createFakeClient()} healthChecks={false}>
        <CodeRunner defaultCode="x = 1" onCodeChange={onCodeChange} />
      </MechaProvider>,
    );
    const plain = screen.getByRole("textbox", { name: "Python code" });
    expect(plain.tagName).toBe("TEXTAREA");
    expect(plain).toHaveValue("x = 1");
    expect(container.querySelector(".mecha-editor")).toHaveAttribute("data-state", "loading");
    fireEvent.change(plain, { target: { value: "x = 2" } });
    expect(onCodeChange).toHaveBeenLastCalledWith("x = 2");

    await editorLoaded(container);
    const editor = screen.getByRole("textbox", { name: "Python code" });
    expect(editor).toHaveTextContent("x = 2");
    expect(screen.queryByDisplayValue("x = 2")).not.toBeInTheDocument();
    expect(container.querySelector(".mecha-editor")).toHaveAttribute("data-state", "ready");
  });

  it("keeps the editor and its undo history when label or readOnly changes", async () => {
    const client = createFakeClient();
    const onCodeChange = vi.fn();
    const ui = (editorProps: CodeRunnerProps["editorProps"]) => (
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="a = 1" onCodeChange={onCodeChange} editorProps={editorProps} />
      </MechaProvider>
    );
    const { rerender, container } = render(ui({}));
    await editorLoaded(container);
    const view = EditorView.findFromDOM(screen.getByRole("textbox", { name: "Python code" }))!;
    act(() => view.dispatch({ changes: { from: 5, insert: "0" }, userEvent: "input.type" }));
    expect(onCodeChange).toHaveBeenLastCalledWith("a = 10");

    rerender(ui({ label: "Exercise 1", readOnly: true }));
    const renamed = screen.getByRole("textbox", { name: "Exercise 1" });
    expect(renamed).toHaveAttribute("contenteditable", "false");
    expect(EditorView.findFromDOM(renamed)).toBe(view);
    rerender(ui({ label: "Exercise 1", readOnly: false }));
    expect(renamed).toHaveAttribute("contenteditable", "true");

    act(() => {
      undo(view);
    });
    expect(view.state.doc.toString()).toBe("a = 1");
    expect(onCodeChange).toHaveBeenLastCalledWith("a = 1");
  });

  it("keeps each part's data-state, whatever props say", async () => {
    const { container } = render(
      <MechaProvider client={createFakeClient()} healthChecks={false}>
        <CodeRunner.Root defaultCode="print(1)" data-state="bogus">
          <CodeRunner.Status data-state="bogus" />
          <CodeRunner.RunButton data-state="bogus" />
          <CodeRunner.Editor data-state="bogus" data-run-state="bogus" />
          <CodeRunner.Stats data-state="bogus" />
        </CodeRunner.Root>
      </MechaProvider>,
    );
    await editorLoaded(container);
    expect(container.querySelector(".mecha-codeRunner")).toHaveAttribute("data-state", "idle");
    expect(screen.getByRole("status", { name: "Backend" })).toHaveAttribute("data-state", "server");
    expect(screen.getByRole("button", { name: "Run" })).toHaveAttribute("data-state", "idle");
    const editor = container.querySelector(".mecha-editor");
    expect(editor).toHaveAttribute("data-state", "ready");
    expect(editor).toHaveAttribute("data-run-state", "idle");
    expect(container.querySelector(".mecha-codeRunner-stats")).toHaveAttribute(
      "data-state",
      "idle",
    );
  });

  it("mounts one editor under StrictMode and still runs", async () => {
    const client = createFakeClient();
    render(
      <StrictMode>
        <MechaProvider client={client} healthChecks={false}>
          <CodeRunner defaultCode="print(1)" />
        </MechaProvider>
      </StrictMode>,
    );
    await editorLoaded(document.body);
    expect(screen.getAllByRole("textbox", { name: "Python code" })).toHaveLength(1);
    expect(document.querySelectorAll(".cm-editor")).toHaveLength(1);
    await userEvent.setup().click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" })).toHaveTextContent("Finished"),
    );
  });

  it("composes from parts", async () => {
    const client = createFakeClient();
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner.Root defaultCode="print(1)">
          <CodeRunner.RunButton runLabel="Go" />
          <CodeRunner.Output label="Console" />
        </CodeRunner.Root>
      </MechaProvider>,
    );
    await userEvent.setup().click(screen.getByRole("button", { name: "Go" }));
    expect(
      await within(screen.getByRole("log", { name: "Console" })).findByText("hello"),
    ).toBeInTheDocument();
  });

  it("has no accessibility violations, before and after a run", async () => {
    const { container, user, runButton, runStatus } = await setup();
    await expectNoAxeViolations(container);
    await user.click(runButton());
    await waitFor(() => expect(runStatus()).toHaveTextContent("Finished"));
    await expectNoAxeViolations(container);
  });
});
