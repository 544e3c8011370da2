import { createTerminalBuffer, type TerminalBuffer } from "@mecha/client/run-store";
import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { userEvent } from "vitest/browser";
import { Terminal } from "../../src/index";
import "../../src/styles.css";

afterEach(() => cleanup());

const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
async function frames(count = 3) {
  for (let i = 0; i < count; i++) await act(frame);
}

function fill(buffer: TerminalBuffer, from: number, to: number) {
  for (let i = from; i < to; i++) buffer.write("stdout", `line ${i}\n`);
}

function atBottom(element: HTMLElement): boolean {
  return element.scrollHeight - element.scrollTop - element.clientHeight <= 2;
}

describe("Terminal in a real browser", () => {
  it("renders only the rows in view of 100,000 lines, wherever the user scrolls", async () => {
    const buffer = createTerminalBuffer();
    fill(buffer, 0, 100_000);
    render(<Terminal buffer={buffer} viewportProps={{ style: { height: 320 } }} />);
    const log = screen.getByRole("log");
    await frames();
    expect(log.querySelectorAll("[data-stream]").length).toBeLessThan(80);
    // Following: the newest line is in view.
    expect(atBottom(log)).toBe(true);
    await waitFor(() => expect(log.textContent).toContain("line 99999"));

    log.scrollTop = log.scrollHeight / 2;
    await frames();
    await waitFor(() => expect(log.textContent).toMatch(/line 5\d{4}/));
    expect(log.querySelectorAll("[data-stream]").length).toBeLessThan(80);
  });

  it("follows new output, stops when the user scrolls up, and resumes at the bottom", async () => {
    const buffer = createTerminalBuffer();
    fill(buffer, 0, 200);
    render(<Terminal buffer={buffer} viewportProps={{ style: { height: 240 } }} />);
    const log = screen.getByRole("log");
    await frames();
    expect(atBottom(log)).toBe(true);

    act(() => fill(buffer, 200, 260));
    await frames();
    expect(atBottom(log)).toBe(true);
    expect(log.textContent).toContain("line 259");

    await userEvent.wheel(log, { delta: { y: -600 } });
    await frames();
    const readingAt = log.scrollTop;
    expect(atBottom(log)).toBe(false);
    expect(log.getAttribute("aria-live")).toBe("off");

    act(() => fill(buffer, 260, 400));
    await frames();
    // The user keeps reading where they were.
    expect(log.scrollTop).toBe(readingAt);
    expect(atBottom(log)).toBe(false);

    await userEvent.click(screen.getByRole("button", { name: "Jump to latest output" }));
    await frames();
    expect(atBottom(log)).toBe(true);
    act(() => fill(buffer, 400, 450));
    await frames();
    expect(atBottom(log)).toBe(true);
    expect(log.textContent).toContain("line 449");
    expect(log.getAttribute("aria-live")).toBe("polite");
  });

  it("keeps following while lines wrap to different heights", async () => {
    const buffer = createTerminalBuffer();
    render(<Terminal buffer={buffer} viewportProps={{ style: { height: 200, width: 300 } }} />);
    const log = screen.getByRole("log");
    for (let i = 0; i < 30; i++) {
      act(() => buffer.write("stdout", `${i} ${"long words ".repeat(i % 5 === 0 ? 20 : 1)}\n`));
      await frames(1);
    }
    await frames();
    expect(atBottom(log)).toBe(true);
  });

  it("renders only the rows in view in every frame while 100,000 lines stream in", async () => {
    const buffer = createTerminalBuffer();
    render(<Terminal buffer={buffer} viewportProps={{ style: { height: 320 } }} />);
    const log = screen.getByRole("log");
    let mostRows = 0;
    for (let chunk = 0; chunk < 100; chunk++) {
      act(() => fill(buffer, chunk * 1000, (chunk + 1) * 1000));
      await act(frame);
      mostRows = Math.max(mostRows, log.querySelectorAll("[data-stream]").length);
    }
    await frames();
    expect(atBottom(log)).toBe(true);
    expect(log.textContent).toContain("line 99999");
    // 100 frames of 1,000 new lines each, and never more than a screenful (plus overscan) of rows.
    expect(mostRows).toBeGreaterThan(0);
    expect(mostRows).toBeLessThan(80);
  });
});
