// @vitest-environment node

import { createTerminalBuffer } from "@mecha/client/run-store";
import { describe, expect, it } from "vitest";
import { paletteColor, parseAnsi } from "./parseAnsi";

describe("parseAnsi", () => {
  it("leaves plain text alone", () => {
    expect(parseAnsi("hello")).toEqual([{ text: "hello", style: undefined }]);
  });

  it("maps the 16 colours to theme variables with fallbacks", () => {
    const [red, plain] = parseAnsi("\x1b[31mred\x1b[0m plain");
    expect(red).toEqual({ text: "red", style: { color: "var(--mecha-ansi-red, #bb0000)" } });
    expect(plain).toEqual({ text: " plain", style: undefined });
    expect(parseAnsi("\x1b[94mx")[0]?.style?.color).toBe("var(--mecha-ansi-bright-blue, #5555ff)");
    expect(parseAnsi("\x1b[42mx")[0]?.style?.backgroundColor).toBe(
      "var(--mecha-ansi-green, #00a000)",
    );
  });

  it.each([
    ["\x1b[38;5;196mx", "rgb(255, 0, 0)"],
    ["\x1b[38;5;21mx", "rgb(0, 0, 255)"],
    ["\x1b[38;5;244mx", "rgb(128, 128, 128)"],
    ["\x1b[38;2;10;20;30mx", "rgb(10, 20, 30)"],
  ])("renders 256-colour and truecolor %j as %s", (input, color) => {
    expect(parseAnsi(input)[0]?.style?.color).toBe(color);
  });

  it("renders bold, underline, italic and strikethrough", () => {
    const [segment] = parseAnsi("\x1b[1;3;4;9mx");
    expect(segment?.style).toMatchObject({
      fontWeight: "bold",
      fontStyle: "italic",
      textDecoration: "underline line-through",
    });
  });

  it("applies styles carried from earlier lines", () => {
    expect(parseAnsi("still red", "\x1b[31m")[0]?.style?.color).toContain("--mecha-ansi-red");
  });

  it("drops cursor and erase sequences", () => {
    expect(
      parseAnsi("a\x1b[2Kb")
        .map((s) => s.text)
        .join(""),
    ).toBe("ab");
  });
});

describe("control sequences other than colours", () => {
  const text = (line: string) =>
    parseAnsi(line)
      .map((s) => s.text)
      .join("");

  it.each([
    [
      "an OSC 8 hyperlink, keeping its text",
      "see \x1b]8;;https://example.com\x1b\\example\x1b]8;;\x1b\\ now",
      "see example now",
    ],
    ["an OSC cut short by the next escape", "\x1b]0;title\x1b[31mred", "red"],
    ["a hidden cursor and private modes", "\x1b[?25lbusy\x1b[?25h\x1b[?2004h", "busy"],
    ["bell, NUL, form feed, DEL and a stray ESC", "a\x07b\x00c\x0cd\x7fe\x1b", "abcde"],
    ["backspaces, as a spinner writes them", "|\b/\b-\b\\", "\\"],
  ])("drops %s", (_, input, shown) => {
    expect(text(input)).toBe(shown);
  });

  it("keeps colours around what it drops", () => {
    const segments = parseAnsi(
      `\x1b[32m\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\\x1b[0m plain`,
    );
    expect(segments).toEqual([
      { text: "link", style: { color: "var(--mecha-ansi-green, #00a000)" } },
      { text: " plain", style: undefined },
    ]);
  });

  it("keeps each character's colour when backspaces overwrite it", () => {
    const segments = parseAnsi("\x1b[31mab\b\x1b[32mX");
    expect(segments).toEqual([
      { text: "a", style: { color: "var(--mecha-ansi-red, #bb0000)" } },
      { text: "X", style: { color: "var(--mecha-ansi-green, #00a000)" } },
    ]);
  });

  it("shows the kept tail of an overwritten line in the colours in force there", () => {
    const buffer = createTerminalBuffer();
    buffer.write("stdout", "\x1b[31mabcdef\rXY");
    const line = buffer.lines[0]!;
    const segments = parseAnsi(line.text, line.style);
    expect(segments.at(-1)).toEqual({
      text: "cdef",
      style: { color: "var(--mecha-ansi-red, #bb0000)" },
    });
  });

  it("gives an empty line as one empty segment, and a line of escapes only as none", () => {
    expect(parseAnsi("")).toEqual([{ text: "", style: undefined }]);
    expect(parseAnsi("\x1b]0;only a title\x07")).toEqual([]);
  });
});

describe("paletteColor", () => {
  it("follows the xterm cube and grey ramp", () => {
    expect(paletteColor(16)).toBe("rgb(0, 0, 0)");
    expect(paletteColor(231)).toBe("rgb(255, 255, 255)");
    expect(paletteColor(232)).toBe("rgb(8, 8, 8)");
  });
});
