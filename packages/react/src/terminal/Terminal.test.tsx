import { createTerminalBuffer } from "@mecha/client/run-store";
import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { expectNoAxeViolations } from "../test/axe";
import { Terminal } from "./Terminal";
import type { TerminalRun } from "./TerminalRoot";

const log = () => screen.getByRole("log", { name: "Terminal output" });

describe("<Terminal>", () => {
  it("shows lines in a polite, labelled, focusable log", async () => {
    render(<Terminal lines={["hello", "world"]} />);
    expect(log()).toHaveTextContent("helloworld");
    expect(log()).toHaveAttribute("aria-live", "polite");
    const user = userEvent.setup();
    await user.tab();
    expect(screen.getByRole("button", { name: "Copy" })).toHaveFocus();
    await user.tab();
    expect(log()).toHaveFocus();
  });

  it("renders ANSI colours, bold and underline", () => {
    render(
      <Terminal
        lines={[
          "\x1b[31mred\x1b[0m plain",
          "\x1b[1;4mstrong\x1b[0m",
          "\x1b[38;5;208morange\x1b[0m \x1b[38;2;1;2;3mtrue\x1b[0m",
        ]}
      />,
    );
    expect(screen.getByText("red")).toHaveStyle({ color: "var(--mecha-ansi-red, #bb0000)" });
    expect(screen.getByText("strong")).toHaveStyle({
      fontWeight: "bold",
      textDecoration: "underline",
    });
    expect(screen.getByText("orange")).toHaveStyle({ color: "rgb(255, 135, 0)" });
    expect(screen.getByText("true")).toHaveStyle({ color: "rgb(1, 2, 3)" });
    expect(log()).not.toHaveTextContent("\x1b");
  });

  it("tells stderr from stdout", () => {
    render(<Terminal lines={["fine", { text: "Traceback", stream: "stderr" }]} />);
    expect(screen.getByText("Traceback").closest("[data-stream]")).toHaveAttribute(
      "data-stream",
      "stderr",
    );
    expect(screen.getByText("fine").closest("[data-stream]")).toHaveAttribute(
      "data-stream",
      "stdout",
    );
  });

  it("overwrites a progress line in place", async () => {
    const buffer = createTerminalBuffer();
    render(<Terminal buffer={buffer} />);
    act(() => {
      buffer.write("stdout", "working\n");
      buffer.write("stdout", "\r 10% [#         ]");
    });
    expect(await screen.findByText(/10%/)).toBeInTheDocument();
    act(() => buffer.write("stdout", "\r100% [##########]"));
    expect(await screen.findByText(/100%/)).toBeInTheDocument();
    expect(screen.queryByText(/10% \[#/)).not.toBeInTheDocument();
    expect(log().querySelectorAll("[data-stream]")).toHaveLength(2);
  });

  it("appends to controlled lines without redrawing, and redraws when they change otherwise", () => {
    const { rerender } = render(<Terminal lines={["a"]} />);
    const first = ["a", "b"];
    rerender(<Terminal lines={first} />);
    expect(log()).toHaveTextContent("ab");
    rerender(<Terminal lines={["x"]} />);
    expect(log()).toHaveTextContent(/^x$/);
  });

  it("redraws controlled lines that changed before their end, even if they also grew", () => {
    const { rerender } = render(<Terminal lines={["a", "b"]} />);
    rerender(<Terminal lines={["x", "b", "c"]} />);
    expect(log()).toHaveTextContent(/^xbc$/);
    const same = { text: "kept" };
    rerender(<Terminal lines={[same, "y"]} />);
    rerender(<Terminal lines={[{ text: "kept" }, "z", "w"]} />);
    expect(log()).toHaveTextContent(/^keptzw$/);
    rerender(<Terminal lines={[]} />);
    rerender(<Terminal lines={["p", "q"]} />);
    expect(log()).toHaveTextContent(/^pq$/);
  });

  it("keeps 100,000 lines without rendering them all", async () => {
    const buffer = createTerminalBuffer();
    for (let i = 0; i < 100_000; i++) buffer.write("stdout", `line ${i}\n`);
    render(<Terminal buffer={buffer} />);
    const rows = log().querySelectorAll("[data-stream]");
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(200);
  });

  it("asks for input when the program waits, and hands over the answer", async () => {
    const user = userEvent.setup();
    const onSubmitInput = vi.fn();
    render(<Terminal lines={["Name? "]} prompt="Name? " onSubmitInput={onSubmitInput} />);
    const input = screen.getByRole("textbox", { name: "Name?" });
    await user.type(input, "Ada{Enter}");
    expect(onSubmitInput).toHaveBeenCalledWith("Ada");
    expect(input).toHaveValue("");
  });

  it("names the input line by a coloured prompt's words, without its escape sequences", () => {
    render(
      <Terminal prompt={"\x1b[1;32mName?\x1b[0m \x1b]0;title\x07"} onSubmitInput={() => {}} />,
    );
    expect(screen.getByRole("textbox")).toHaveAccessibleName("Name?");
  });

  it("closes stdin on Ctrl+D in an empty input line", async () => {
    const user = userEvent.setup();
    const onEof = vi.fn();
    render(<Terminal prompt="" onSubmitInput={() => {}} onEof={onEof} />);
    await user.click(screen.getByRole("textbox", { name: "Input for the program" }));
    await user.keyboard("{Control>}d{/Control}");
    expect(onEof).toHaveBeenCalledOnce();
    // With Caps Lock on the key comes in capitals: the same Ctrl+D.
    await user.keyboard("{Control>}D{/Control}");
    expect(onEof).toHaveBeenCalledTimes(2);
    // Ctrl+Shift+D is the browser's own shortcut, not end of input.
    await user.keyboard("{Control>}{Shift>}D{/Shift}{/Control}");
    expect(onEof).toHaveBeenCalledTimes(2);
  });

  it("shows no input line while the program is not waiting", () => {
    render(<Terminal lines={["x"]} prompt={null} onSubmitInput={() => {}} />);
    expect(screen.queryByRole("textbox")).not.toBeInTheDocument();
  });

  it("shows and copies no titles, hyperlink targets or other control sequences", async () => {
    const user = userEvent.setup();
    render(
      <Terminal
        lines={[
          "\x1b]0;Build\x07\x1b[?25lstep 1\x1b[?25h",
          "see \x1b]8;;https://example.com/docs\x1b\\\x1b[4mthe docs\x1b[24m\x1b]8;;\x1b\\ now\x07",
          "\x1b(Bwait|\b/\b-\b\\ done",
          "\x1b]0;only a title\x07",
        ]}
      />,
    );
    const rows = log().querySelectorAll("[data-stream]");
    expect(rows).toHaveLength(4);
    expect(rows[3]?.querySelector("br")).not.toBeNull();
    expect(log()).toHaveTextContent("step 1see the docs nowwait\\ done");
    expect(screen.getByText("the docs")).toHaveStyle({ textDecoration: "underline" });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(log().textContent).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]|example\.com/);
    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe("step 1\nsee the docs now\nwait\\ done\n");
  });

  it("gives the answer back to edit when the run could not send it", async () => {
    const user = userEvent.setup();
    const run: TerminalRun = {
      output: createTerminalBuffer(),
      state: "running",
      prompt: "Name? ",
      sendInput: vi.fn().mockRejectedValue(new Error("The run is not waiting for input (409).")),
      sendEof: vi.fn().mockResolvedValue(undefined),
    };
    render(<Terminal run={run} />);
    const input = screen.getByRole("textbox", { name: "Name?" });
    await user.type(input, "Ada{Enter}");
    expect(run.sendInput).toHaveBeenCalledWith("Ada");
    await waitFor(() => expect(input).toHaveValue("Ada"));
  });

  it("copies the transcript as plain text", async () => {
    const user = userEvent.setup();
    render(<Terminal lines={["\x1b[32mok\x1b[0m", "done"]} />);
    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(await navigator.clipboard.readText()).toBe("ok\ndone");
    expect(screen.getByRole("button", { name: "Copied" })).toBeInTheDocument();
  });

  it("clears the transcript", async () => {
    const user = userEvent.setup();
    const buffer = createTerminalBuffer();
    buffer.writeLines(["one", "two"]);
    render(<Terminal buffer={buffer} />);
    await user.click(screen.getByRole("button", { name: "Clear" }));
    await waitFor(() => expect(log()).toHaveTextContent(/^$/));
  });

  it("offers Clear for controlled lines only with onClear", () => {
    const { rerender } = render(<Terminal lines={["a"]} />);
    expect(screen.queryByRole("button", { name: "Clear" })).not.toBeInTheDocument();
    rerender(<Terminal lines={["a"]} onClear={() => {}} />);
    expect(screen.getByRole("button", { name: "Clear" })).toBeInTheDocument();
  });

  it("stops following output when the user scrolls up, and jumps back on request", async () => {
    const user = userEvent.setup();
    render(<Terminal lines={Array.from({ length: 50 }, (_, i) => `line ${i}`)} />);
    const viewport = log();
    Object.defineProperty(viewport, "scrollHeight", { value: 1000, configurable: true });
    Object.defineProperty(viewport, "clientHeight", { value: 200, configurable: true });
    expect(screen.queryByRole("button", { name: "Jump to latest output" })).not.toBeInTheDocument();

    fireEvent.wheel(viewport, { deltaY: -100 });
    expect(viewport).toHaveAttribute("aria-live", "off");
    await user.click(await screen.findByRole("button", { name: "Jump to latest output" }));
    expect(viewport.scrollTop).toBe(1000);
    expect(viewport).toHaveAttribute("aria-live", "polite");
    expect(screen.queryByRole("button", { name: "Jump to latest output" })).not.toBeInTheDocument();
  });

  it("follows again when the user scrolls back to the bottom, or presses End", async () => {
    render(<Terminal lines={["a", "b"]} />);
    const viewport = log();
    Object.defineProperty(viewport, "scrollHeight", { value: 1000, configurable: true });
    Object.defineProperty(viewport, "clientHeight", { value: 200, configurable: true });
    fireEvent.keyDown(viewport, { key: "PageUp" });
    expect(viewport).toHaveAttribute("aria-live", "off");
    viewport.scrollTop = 800;
    fireEvent.scroll(viewport);
    expect(viewport).toHaveAttribute("aria-live", "polite");
    fireEvent.keyDown(viewport, { key: "Home" });
    expect(viewport).toHaveAttribute("aria-live", "off");
    fireEvent.keyDown(viewport, { key: "End" });
    expect(viewport).toHaveAttribute("aria-live", "polite");
  });

  it("composes from parts", () => {
    render(
      <Terminal.Root lines={["composed"]} label="Build log" prompt="?" onSubmitInput={() => {}}>
        <Terminal.Viewport className="custom" />
        <Terminal.Input />
      </Terminal.Root>,
    );
    expect(screen.getByRole("log", { name: "Build log" })).toHaveClass(
      "mecha-terminal-viewport",
      "custom",
    );
    expect(screen.getByRole("textbox", { name: "?" })).toBeInTheDocument();
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
  });

  it("keeps each part's data-state, whatever props or an asChild element say", async () => {
    const user = userEvent.setup();
    const { container } = render(
      <Terminal.Root lines={["a"]} data-state="bogus" data-following="no">
        <Terminal.Viewport data-state="bogus" />
        <Terminal.Copy data-state="bogus" />
        <Terminal.Copy asChild>
          <button type="button" data-state="bogus">
            Copy again
          </button>
        </Terminal.Copy>
      </Terminal.Root>,
    );
    expect(container.firstElementChild).toHaveAttribute("data-state", "idle");
    expect(container.firstElementChild).toHaveAttribute("data-following", "");
    expect(log()).toHaveAttribute("data-state", "idle");
    expect(screen.getByRole("button", { name: "Copy" })).toHaveAttribute("data-state", "idle");
    const again = screen.getByRole("button", { name: "Copy again" });
    expect(again).toHaveAttribute("data-state", "idle");
    await user.click(again);
    await waitFor(() => expect(again).toHaveAttribute("data-state", "copied"));
  });

  it("explains a part used outside its root", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => render(<Terminal.Viewport />)).toThrow(
      "<Terminal.Viewport> must be used within <Terminal.Root>.",
    );
  });

  it("has no accessibility violations, idle or waiting for input", async () => {
    const { container, rerender } = render(<Terminal lines={["\x1b[31mred\x1b[0m", "plain"]} />);
    await expectNoAxeViolations(container);
    rerender(<Terminal lines={["Name? "]} prompt="Name? " onSubmitInput={() => {}} />);
    await expectNoAxeViolations(container);
    const form = screen.getByRole("textbox").closest("form")!;
    expect(within(form).getByRole("textbox")).toBeInTheDocument();
  });
});
