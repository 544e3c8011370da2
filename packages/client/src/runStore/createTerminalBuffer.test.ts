import { describe, expect, it, vi } from "vitest";
import { createTerminalBuffer } from "./createTerminalBuffer";

const texts = (buffer: ReturnType<typeof createTerminalBuffer>) => buffer.lines.map((l) => l.text);

describe("createTerminalBuffer", () => {
  it("splits chunks into lines and joins partial lines", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "hel");
    buffer.write("stdout", "lo\nwor");
    buffer.write("stdout", "ld\n");
    expect(texts(buffer)).toEqual(["hello", "world"]);
  });

  it("rewrites the current line on \\r, as progress bars expect", () => {
    const buffer = createTerminalBuffer();
    for (let i = 0; i <= 100; i += 10) buffer.write("stdout", `\rprogress ${i}%`);
    buffer.write("stdout", "\ndone\n");
    expect(texts(buffer)).toEqual(["progress 100%", "done"]);
  });

  it("treats \\r\\n as one line break, also across chunks", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "a\r\nb\r");
    buffer.write("stdout", "\nc\n");
    expect(texts(buffer)).toEqual(["a", "b", "c"]);
  });

  it("keeps stdout and stderr on separate lines", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "out");
    buffer.write("stderr", "err\n");
    buffer.write("stdout", "more\n");
    expect(buffer.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "out"],
      ["stderr", "err"],
      ["stdout", "more"],
    ]);
  });

  it("carries colours into following lines", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "\x1b[32mgreen\nstill green\x1b[0m\nplain\n");
    expect(buffer.lines.map((l) => l.style)).toEqual(["", "\x1b[32m", ""]);
  });

  it("echoes input after the prompt on the same line", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "Name? ");
    buffer.echoInput("Ada");
    buffer.write("stdout", "Hi Ada\n");
    expect(buffer.lines.map((l) => [l.text, l.input])).toEqual([
      ["Name? ", "Ada"],
      ["Hi Ada", undefined],
    ]);
    expect(buffer.toString()).toBe("Name? Ada\nHi Ada");
  });

  it("gives plain text without escape sequences", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "\x1b[1;31mbold red\x1b[0m\n");
    expect(buffer.toString()).toBe("bold red");
  });

  it("writes whole lines for controlled use", () => {
    const buffer = createTerminalBuffer();
    buffer.writeLines(["one", { text: "two", stream: "stderr" }, "three"]);
    expect(buffer.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stderr", "two"],
      ["stdout", "three"],
    ]);
  });

  it("drops the oldest lines beyond maxLines", () => {
    const buffer = createTerminalBuffer({ maxLines: 100 });
    for (let i = 0; i < 1000; i++) buffer.write("stdout", `${i}\n`);
    expect(buffer.lines.length).toBeLessThanOrEqual(110);
    expect(buffer.lines.at(-1)?.text).toBe("999");
  });

  it("replaces changed lines rather than mutating them, and notifies", () => {
    const buffer = createTerminalBuffer();
    const listener = vi.fn();
    buffer.subscribe(listener);
    buffer.write("stdout", "a");
    const first = buffer.lines[0];
    buffer.write("stdout", "b");
    expect(buffer.lines[0]).not.toBe(first);
    expect(first?.text).toBe("a");
    expect(listener).toHaveBeenCalledTimes(2);
    buffer.clear();
    expect(buffer.lines).toHaveLength(0);
  });

  it("takes 100,000 coloured lines, each its own immutable line", () => {
    const buffer = createTerminalBuffer();
    for (let i = 0; i < 100_000; i++) buffer.write("stdout", `line ${i} \x1b[32mok\x1b[0m\n`);
    expect(buffer.lines).toHaveLength(100_000);
    expect(buffer.lines[99_999]).toMatchObject({ text: "line 99999 \x1b[32mok\x1b[0m", style: "" });
    expect(new Set(buffer.lines.map((line) => line.id)).size).toBe(100_000);
  });

  it("puts a display on a line of its own, between the output written before and after it", () => {
    const buffer = createTerminalBuffer();
    const plot = { data: { "text/plain": "<Figure>", "image/png": "iVBORw0KGgo=" } };
    buffer.write("stdout", "before, no newline yet");
    buffer.writeDisplay(plot);
    buffer.write("stdout", "after\n");
    buffer.writeDisplay({ data: { "text/plain": "   a  b\n0  1  2" } });
    expect(buffer.lines.map((line) => [line.stream, line.text])).toEqual([
      ["stdout", "before, no newline yet"],
      ["display", "<Figure>"],
      ["stdout", "after"],
      ["display", "   a  b\n0  1  2"],
    ]);
    expect(buffer.lines[1]?.display).toBe(plot);
    expect(buffer.toString()).toBe("before, no newline yet\n<Figure>\nafter\n   a  b\n0  1  2");
  });

  it("takes a display line among controlled lines as its text/plain", () => {
    const buffer = createTerminalBuffer();
    buffer.writeLines(["x", { text: "<Figure>", stream: "display" }]);
    expect(buffer.lines[1]).toMatchObject({
      stream: "display",
      text: "<Figure>",
      display: { data: { "text/plain": "<Figure>" } },
    });
  });
});
