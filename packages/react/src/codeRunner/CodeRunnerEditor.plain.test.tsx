import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { MechaProvider } from "../MechaProvider";
import { createFakeClient } from "../test/fakeClient";
import { CodeRunner } from "./CodeRunner";

// The editor's chunk cannot be fetched (offline, or a deploy replaced it).
vi.mock("./codeMirrorEditor", () => {
  throw new Error("Failed to fetch dynamically imported module");
});

describe("<CodeRunner.Editor> when CodeMirror cannot be loaded", () => {
  it("keeps the plain text area, which edits and runs the code", async () => {
    const client = createFakeClient();
    const { container } = render(
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode="x = 1" />
      </MechaProvider>,
    );
    const editor = container.querySelector(".mecha-editor");
    await waitFor(() => expect(editor).toHaveAttribute("data-state", "plain"));
    const plain = screen.getByRole("textbox", { name: "Python code" });
    fireEvent.change(plain, { target: { value: "print(2)" } });
    await userEvent.setup().click(screen.getByRole("button", { name: "Run" }));
    await waitFor(() => expect(client.requests[0]?.code).toBe("print(2)"));
  });
});
