import { sanitizeAnsi } from "@mecha/client/run-store";
import Anser from "anser";

/** One run of text with the same style, ready to render as a `<span>`. */
export interface AnsiSegment {
  text: string;
  /** Inline styles: the 16 colours as theme variables with a fallback, others as rgb(). */
  style: Record<string, string> | undefined;
}

const NAMED = /^ansi-(bright-)?(black|red|green|yellow|blue|magenta|cyan|white)$/;

/** Fallbacks for the 16 colours when no stylesheet defines `--mecha-ansi-*`. */
const FALLBACK: Record<string, string> = {
  black: "#000000",
  red: "#bb0000",
  green: "#00a000",
  yellow: "#a68a00",
  blue: "#0000bb",
  magenta: "#bb00bb",
  cyan: "#00a0a0",
  white: "#bbbbbb",
  "bright-black": "#555555",
  "bright-red": "#ff5555",
  "bright-green": "#22cc22",
  "bright-yellow": "#c9b000",
  "bright-blue": "#5555ff",
  "bright-magenta": "#ff55ff",
  "bright-cyan": "#22bbbb",
  "bright-white": "#ffffff",
};

/** The xterm 256-colour palette entry `index` (16–255) as `rgb()`. */
export function paletteColor(index: number): string {
  if (index >= 232) {
    const level = 8 + (index - 232) * 10;
    return `rgb(${level}, ${level}, ${level})`;
  }
  const cube = index - 16;
  const steps = [0, 95, 135, 175, 215, 255];
  const r = steps[Math.floor(cube / 36) % 6];
  const g = steps[Math.floor(cube / 6) % 6];
  const b = steps[cube % 6];
  return `rgb(${r}, ${g}, ${b})`;
}

function color(klass: string | null, truecolor: string | null): string | undefined {
  if (!klass) return undefined;
  if (klass === "ansi-truecolor") return truecolor ? `rgb(${truecolor})` : undefined;
  const palette = /^ansi-palette-(\d+)$/.exec(klass);
  if (palette) return paletteColor(Number(palette[1]));
  const named = NAMED.exec(klass);
  if (named) {
    const name = `${named[1] ?? ""}${named[2]}`;
    return `var(--mecha-ansi-${name}, ${FALLBACK[name]})`;
  }
  return undefined;
}

/**
 * Splits a line with ANSI SGR sequences into styled segments. `prefix` carries the styles in
 * force when the line began (a colour set on an earlier line stays on, as in a terminal).
 * Other escape sequences (titles, hyperlinks, cursor moves) and control characters are dropped;
 * a hyperlink's text stays.
 */
export function parseAnsi(text: string, prefix = ""): AnsiSegment[] {
  const clean = sanitizeAnsi(prefix + text);
  if (!clean.includes("\x1b")) {
    // Plain text stays one segment, even empty; an empty line left after removing escapes, none.
    if (prefix === "" && clean === text) return [{ text, style: undefined }];
    return clean === "" ? [] : [{ text: clean, style: undefined }];
  }
  const entries = new Anser().ansiToJson(clean, { use_classes: true, remove_empty: true });
  const segments: AnsiSegment[] = [];
  for (const entry of entries) {
    const style: Record<string, string> = {};
    let fg = color(entry.fg, entry.fg_truecolor);
    let bg = color(entry.bg, entry.bg_truecolor);
    const decorations = entry.decorations ?? [];
    if (decorations.includes("reverse")) {
      [fg, bg] = [
        bg ?? "var(--mecha-terminal-bg, #ffffff)",
        fg ?? "var(--mecha-terminal-fg, #000000)",
      ];
    }
    if (fg) style.color = fg;
    if (bg) style.backgroundColor = bg;
    if (decorations.includes("bold")) style.fontWeight = "bold";
    if (decorations.includes("dim")) style.opacity = "0.7";
    if (decorations.includes("italic")) style.fontStyle = "italic";
    const lines: string[] = [];
    if (decorations.includes("underline")) lines.push("underline");
    if (decorations.includes("strikethrough")) lines.push("line-through");
    if (lines.length > 0) style.textDecoration = lines.join(" ");
    if (decorations.includes("hidden")) style.visibility = "hidden";
    segments.push({
      text: entry.content,
      style: Object.keys(style).length > 0 ? style : undefined,
    });
  }
  return segments;
}
