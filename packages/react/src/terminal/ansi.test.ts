// @vitest-environment node
import { describe, expect, it } from "vitest";
import {
  overwrite,
  paletteColor,
  parseAnsi,
  sanitizeAnsi,
  sgrStateAfter,
  stripAnsi,
  visibleLength,
} from "./ansi";

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
    expect(text(input)).toBe(shown);
    expect(stripAnsi(input)).toBe(shown);
    expect(visibleLength(input)).toBe(shown.length);
  });

  it("keeps tabs", () => {
    expect(stripAnsi("a\tb")).toBe("a\tb");
  });

  it("keeps colours around what it drops", () => {
    const segments = parseAnsi(
      `\x1b[32m\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\\x1b[0m plain`,
    );
    expect(segments).toEqual([
      { text: "link", style: { color: "var(--mecha-ansi-green, #00a000)" } },
      { text: " plain", style: undefined },
    ]);
    expect(sanitizeAnsi("\x1b]0;t\x07\x1b[1mbold")).toBe("\x1b[1mbold");
  });

  it("keeps each character's colour when backspaces overwrite it", () => {
    const segments = parseAnsi("\x1b[31mab\b\x1b[32mX");
    expect(segments).toEqual([
      { text: "a", style: { color: "var(--mecha-ansi-red, #bb0000)" } },
      { text: "X", style: { color: "var(--mecha-ansi-green, #00a000)" } },
    ]);
  });

  it("counts columns without hidden sequences when a carriage return overwrites", () => {
    expect(stripAnsi(overwrite("\x1b]0;title\x07abcdef", "XY"))).toBe("XYcdef");
    expect(stripAnsi(overwrite("abc\bdef", "X"))).toBe("Xbdef");
  });
});

describe("paletteColor", () => {
  it("follows the xterm cube and grey ramp", () => {
    expect(paletteColor(16)).toBe("rgb(0, 0, 0)");
    expect(paletteColor(231)).toBe("rgb(255, 255, 255)");
    expect(paletteColor(232)).toBe("rgb(8, 8, 8)");
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
    const segments = parseAnsi(result);
    expect(segments.at(-1)).toEqual({
      text: "cdef",
      style: { color: "var(--mecha-ansi-red, #bb0000)" },
    });
  });
});
