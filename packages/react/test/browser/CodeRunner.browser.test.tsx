import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { userEvent } from "vitest/browser";
import { CodeRunner, MechaProvider } from "../../src/index";
import { createFakeClient } from "../../src/test/fakeClient";
import "../../src/styles.css";

afterEach(() => cleanup());

/**
 * CodeMirror loads when the editor mounts; until then the code is in a plain text area. Its
 * chunk can take longer than waitFor's default second on a busy machine.
 */
async function loadedEditor() {
  await waitFor(
    () => {
      expect(document.querySelector(".mecha-editor .cm-content")).not.toBeNull();
      expect(document.querySelector(".mecha-editor-fallback")).toBeNull();
    },
    { timeout: 5_000 },
  );
  return screen.getByRole("textbox", { name: "Python code" });
}

describe("CodeRunner in a real browser", () => {
  it("takes typed code, indents Python, and runs it with Ctrl+Enter", async () => {
    const client = createFakeClient();
    const onCodeChange = vi.fn();
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="" onCodeChange={onCodeChange} />
      </MechaProvider>,
    );
    const editor = await loadedEditor();
    await userEvent.click(editor);
    await userEvent.keyboard("for i in range(3):{Enter}print(i)");
    await waitFor(() =>
      expect(onCodeChange).toHaveBeenLastCalledWith("for i in range(3):\n    print(i)"),
    );
    await userEvent.keyboard("{Control>}{Enter}{/Control}");
    await waitFor(() => expect(client.requests[0]?.code).toBe("for i in range(3):\n    print(i)"));
    await waitFor(() =>
      expect(screen.getByRole("status", { name: "Run status" }).textContent).toMatch(/^Finished/),
    );
  });

  it("indents with Tab inside the editor", async () => {
    const onCodeChange = vi.fn();
    render(
      <MechaProvider client={createFakeClient()} healthChecks={false}>
        <CodeRunner defaultCode="x = 1" onCodeChange={onCodeChange} />
      </MechaProvider>,
    );
    await userEvent.click(await loadedEditor());
    await userEvent.keyboard("{Home}{Tab}");
    await waitFor(() => expect(onCodeChange).toHaveBeenLastCalledWith("    x = 1"));
  });
});

describe("leaving the editor by keyboard", () => {
  it("says under the code how to leave it, and Esc then Tab does", async () => {
    render(
      <MechaProvider client={createFakeClient()} healthChecks={false}>
        <button type="button">before</button>
        <CodeRunner defaultCode="x = 1" />
      </MechaProvider>,
    );
    const editor = await loadedEditor();
    const hint = screen.getByText("Esc then Tab leaves the editor · Ctrl+Enter runs");
    expect(hint.getBoundingClientRect().height).toBeGreaterThan(0);
    expect(editor).toHaveAccessibleDescription("Esc then Tab leaves the editor · Ctrl+Enter runs");
    await userEvent.click(editor);
    // Tab alone indents: the keyboard stays in the code.
    await userEvent.keyboard("{Tab}");
    expect(editor.contains(document.activeElement)).toBe(true);
    await userEvent.keyboard("{Escape}{Tab}");
    await waitFor(() => expect(editor.contains(document.activeElement)).toBe(false));
    // On to the next control after the editor: the terminal's Copy button.
    expect(document.activeElement).toHaveAccessibleName("Copy");
    expect(screen.getByRole("button", { name: "Run" })).toBeInTheDocument();
  });

  it("leaves the hint out when the host says so", async () => {
    render(
      <MechaProvider client={createFakeClient()} healthChecks={false}>
        <CodeRunner defaultCode="x = 1" editorProps={{ keyboardHint: null }} />
      </MechaProvider>,
    );
    const editor = await loadedEditor();
    expect(screen.queryByText(/Esc then Tab/)).toBeNull();
    expect(editor).not.toHaveAttribute("aria-describedby");
  });
});
