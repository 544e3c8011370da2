import { describe, expect, it } from "vitest";
import { overwrite, sanitizeAnsi, sgrStateAfter, stripAnsi, visibleLength } from "./ansi";

describe("control sequences other than colours", () => {
  const link = "\x1b]8;;https://example.com\x1b\\example\x1b]8;;\x1b\\";

  it.each([
    ["a window title ended by BEL", "\x1b]0;my title\x07done", "done"],
    ["a window title ended by ST", "\x1b]2;my title\x1b\\done", "done"],
    ["an OSC 8 hyperlink, keeping its text", `see ${link} now`, "see example now"],
    ["an OSC cut short by the next escape", "\x1b]0;title\x1b[31mred", "red"],
    ["an OSC cut short by the end of the line", "shown\x1b]0;unfinished", "shown"],
    ["a hidden cursor and private modes", "\x1b[?25lbusy\x1b[?25h\x1b[?2004h", "busy"],
    ["cursor moves and erases", "\x1b[2K\x1b[1G\x1b[3Aup", "up"],
    ["a charset designation and keypad mode", "\x1b(Bplain\x1b=\x1b>", "plain"],
    ["a DCS string", "\x1bPq#0;2;0;0;0\x1b\\after", "after"],
    ["bell, NUL, form feed, DEL and a stray ESC", "a\x07b\x00c\x0cd\x7fe\x1b", "abcde"],
    ["backspaces, as a spinner writes them", "|\b/\b-\b\\", "\\"],
    ["backspaces that overwrite the middle of a line", "abc\b\bX", "aXc"],
    ["a trailing backspace, which only moves the cursor", "abc\b", "abc"],
  ])("drops %s", (_, input, shown) => {
    expect(stripAnsi(input)).toBe(shown);
    expect(stripAnsi(sanitizeAnsi(input))).toBe(shown);
    expect(visibleLength(input)).toBe(shown.length);
  });

  it("keeps tabs", () => {
    expect(stripAnsi("a\tb")).toBe("a\tb");
  });

  it("keeps colours around what it drops", () => {
    expect(sanitizeAnsi("\x1b]0;t\x07\x1b[1mbold")).toBe("\x1b[1mbold");
    expect(sanitizeAnsi("\x1b]0;title\x1b[31mred")).toBe("\x1b[31mred");
  });

  it("counts columns without hidden sequences when a carriage return overwrites", () => {
    expect(stripAnsi(overwrite("\x1b]0;title\x07abcdef", "XY"))).toBe("XYcdef");
    expect(stripAnsi(overwrite("abc\bdef", "X"))).toBe("Xbdef");
  });
});

describe("sgrStateAfter", () => {
  it.each([
    ["", "plain", ""],
    ["", "\x1b[31mred", "\x1b[31m"],
    ["\x1b[31m", "\x1b[1mbold", "\x1b[31m\x1b[1m"],
    ["\x1b[31m", "\x1b[0m", ""],
    ["\x1b[31m", "\x1b[m", ""],
    ["\x1b[31m", "\x1b[0;32m", "\x1b[0;32m"],
  ])("after %j + %j is %j", (state, text, expected) => {
    expect(sgrStateAfter(state, text)).toBe(expected);
  });

  it("stays bounded when a program never resets", () => {
    const noisy = "\x1b[31mx".repeat(1000);
    expect(sgrStateAfter("", noisy).length).toBeLessThan(100);
  });
});

describe("overwrite", () => {
  it("replaces a line with a longer or equal one", () => {
    expect(overwrite(" 10%", " 20%")).toBe(" 20%");
  });

  it("keeps the tail of a longer line, as a terminal does", () => {
    expect(stripAnsi(overwrite("abcdef", "XY"))).toBe("XYcdef");
  });

  it("keeps the styles in force in the kept tail", () => {
    const result = overwrite("\x1b[31mabcdef", "XY");
    expect(visibleLength(result)).toBe(6);
    expect(result).toBe("XY\x1b[0m\x1b[31mcdef");
  });
});
