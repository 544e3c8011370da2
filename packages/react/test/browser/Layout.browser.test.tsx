import { cleanup, render, screen, waitFor } from "@testing-library/react";
import type { CSSProperties } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { userEvent } from "vitest/browser";
import { CodeRunner, MechaProvider, Terminal } from "../../src/index";
import { createFakeClient } from "../../src/test/fakeClient";
import "../../src/styles.css";

/**
 * The components in the hosts people put them in: a grid, a flex row, a narrow column, a page
 * that centres its text. A 300-character line and a traceback must stay inside the component
 * (scrolling in the editor, wrapping in the terminal), and code and output read from the left.
 */

afterEach(() => cleanup());

const LONG = `x = "${"a".repeat(300)}"`;
const CODE = `${LONG}\ndef f():\n    raise ValueError("${"c".repeat(200)}")\nf()\n`;
const TRACEBACK = `Traceback (most recent call last):\n  File "/workspace/main.py", line 4, in <module>\n    f()\n  File "/workspace/main.py", line 3, in f\n    raise ValueError("${"c".repeat(200)}")\nValueError: ${"c".repeat(200)}\n`;

/** A CodeRunner whose run prints the long line, then fails with a traceback on line 3. */
async function renderRunner(host: CSSProperties) {
  const client = createFakeClient({
    script: async (run) => {
      run.stdout(`${"b".repeat(300)}\nhi\n`);
      run.stderr(TRACEBACK);
      return {
        status: "failed",
        exitCode: 1,
        error: {
          type: "ValueError",
          message: "c".repeat(200),
          line: 3,
          traceback: TRACEBACK,
        },
      };
    },
  });
  render(
    <div data-testid="host" style={host}>
      <MechaProvider client={client} healthChecks={false}>
        <CodeRunner defaultCode={CODE} />
      </MechaProvider>
    </div>,
  );
  // CodeMirror is a chunk of its own, loaded when the editor mounts: in a file's first test that
  // takes longer than waitFor's default second on a busy machine.
  await waitFor(() => expect(document.querySelector(".mecha-editor .cm-content")).not.toBeNull(), {
    timeout: 5_000,
  });
  await userEvent.click(screen.getByRole("button", { name: "Run" }));
  await waitFor(() =>
    expect(screen.getByRole("status", { name: "Run status" }).textContent).toMatch(
      /^Failed on line 3: ValueError/,
    ),
  );
  await waitFor(() => expect(document.querySelector(".mecha-editor-errorMessage")).not.toBeNull());
  return screen.getByTestId("host");
}

/** Where the text of the element's first text node starts, from the element's left edge. */
function textIndent(element: Element): number {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  const text = walker.nextNode();
  if (!text) throw new Error("no text");
  const range = document.createRange();
  range.selectNodeContents(text);
  return range.getBoundingClientRect().left - element.getBoundingClientRect().left;
}

describe("layout in the host's page", () => {
  it.each<[string, CSSProperties]>([
    ["a grid", { display: "grid", width: 375 }],
    ["a grid with an auto column", { display: "grid", gridTemplateColumns: "auto", width: 375 }],
    ["a flex row", { display: "flex", width: 375 }],
    ["a 375 px column", { width: 375 }],
    ["a 1280 px column", { width: 1280 }],
  ])("stays within %s with a 300-character line and a traceback", async (_name, style) => {
    const host = await renderRunner(style);
    const width = host.getBoundingClientRect().width;
    const runner = screen.getByRole("group", { name: "Code runner" });
    expect(runner.getBoundingClientRect().width).toBeLessThanOrEqual(width);
    expect(host.scrollWidth).toBeLessThanOrEqual(Math.ceil(width));
    // The long line scrolls inside the editor, not the page.
    const scroller = document.querySelector(".mecha-editor .cm-scroller") as HTMLElement;
    expect(scroller.scrollWidth).toBeGreaterThan(scroller.clientWidth);
    expect(scroller.getBoundingClientRect().right).toBeLessThanOrEqual(
      host.getBoundingClientRect().right,
    );
    // The output wraps inside the terminal.
    const log = screen.getByRole("log", { name: "Program output" });
    expect(log.scrollWidth).toBeLessThanOrEqual(log.clientWidth);
    // Run stays on screen.
    const run = screen.getByRole("button", { name: "Run" }).getBoundingClientRect();
    expect(run.right).toBeLessThanOrEqual(host.getBoundingClientRect().right);
  });

  it("reads code and output from the left in a host that centres its text", async () => {
    await renderRunner({ textAlign: "center", width: 640 });
    const log = screen.getByRole("log", { name: "Program output" });
    const short = [...log.querySelectorAll("[data-stream]")].find(
      (row) => row.textContent === "hi",
    );
    expect(short).toBeDefined();
    expect(textIndent(short!)).toBeLessThan(2);
    const line = [...document.querySelectorAll(".cm-line")].find(
      (row) => row.textContent === "f()",
    );
    expect(line).toBeDefined();
    expect(textIndent(line!)).toBeLessThan(8);
  });

  it("a terminal alone reads from the left in a centred, flex host", async () => {
    render(
      <div style={{ display: "flex", textAlign: "center", width: 320 }}>
        <Terminal lines={["hi", "x".repeat(300)]} />
      </div>,
    );
    const log = screen.getByRole("log");
    await waitFor(() => expect(log.querySelectorAll("[data-stream]")).toHaveLength(2));
    const [short] = log.querySelectorAll("[data-stream]");
    expect(textIndent(short!)).toBeLessThan(2);
    expect(log.getBoundingClientRect().width).toBeLessThanOrEqual(320);
  });
});
