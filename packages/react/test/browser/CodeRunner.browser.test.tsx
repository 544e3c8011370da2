import { cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { userEvent } from "vitest/browser";
import { CodeRunner, MechaProvider } from "../../src/index";
import { createFakeClient } from "../../src/test/fakeClient";
import "../../src/styles.css";

afterEach(() => cleanup());

describe("CodeRunner in a real browser", () => {
  it("takes typed code, indents Python, and runs it with Ctrl+Enter", async () => {
    const client = createFakeClient();
    const onCodeChange = vi.fn();
    render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="" onCodeChange={onCodeChange} />
      </MechaProvider>,
    );
    const editor = screen.getByRole("textbox", { name: "Python code" });
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
    await userEvent.click(screen.getByRole("textbox", { name: "Python code" }));
    await userEvent.keyboard("{Home}{Tab}");
    await waitFor(() => expect(onCodeChange).toHaveBeenLastCalledWith("    x = 1"));
  });
});
