/**
 * Everything a terminal does not print as text, in the order tried at an ESC: OSC strings
 * (window titles; OSC 8 hyperlinks, whose link text is ordinary text and stays), DCS/SOS/PM/APC
 * strings, CSI sequences (colours, cursor moves, erase, modes), other escapes (charsets, keypad
 * modes), then single C0/C1 controls and a stray ESC. Tab, line feed and carriage return are not
 * matched, nor backspace, which moves the cursor (see {@link applyBackspaces}).
 * An OSC or string without its terminator ends at the next ESC or the end, as in xterm.
 */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[ -/]*[0-~]|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;
/** Whether a line has anything for {@link CONTROL} or backspace to act on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const HAS_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every escape sequence
const SGR = /\x1b\[([\d;]*)m/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts every escape sequence
const IS_SGR = /^\x1b\[[\d;]*m$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: backspace and SGR are the tokens
const CELL_TOKEN = /\x1b\[[\d;]*m|\x08|[\s\S]/gu;

/**
 * Applies backspaces as a terminal does: each moves the cursor one column left and the next
 * character overwrites the one there (spinners such as `|\b/\b-`). Expects only SGR sequences
 * among the controls; each character keeps the colours in force when it was written.
 */
function applyBackspaces(text: string): string {
  if (!text.includes("\b")) return text;
  const cells: Array<{ char: string; style: string }> = [];
  let style = "";
  let cursor = 0;
  for (const [token] of text.matchAll(CELL_TOKEN)) {
    if (token === "\b") cursor = Math.max(0, cursor - 1);
    else if (token.startsWith("\x1b")) style = sgrStateAfter(style, token);
    else cells[cursor++] = { char: token, style };
  }
  let result = "";
  let current = "";
  for (const cell of cells) {
    if (cell.style !== current) {
      result += `\x1b[0m${cell.style}`;
      current = cell.style;
    }
    result += cell.char;
  }
  return result;
}

/**
 * The line as the terminal shows it, with only its colour (SGR) sequences left: other escape
 * sequences and control characters removed, backspaces applied.
 */
export function sanitizeAnsi(text: string): string {
  if (!HAS_CONTROL.test(text)) return text;
  return applyBackspaces(text.replace(CONTROL, (match) => (IS_SGR.test(match) ? match : "")));
}

/** Plain text of a line: escape sequences and control characters removed, backspaces applied. */
export function stripAnsi(text: string): string {
  if (!HAS_CONTROL.test(text)) return text;
  return applyBackspaces(text.replace(CONTROL, ""));
}

/** Number of visible characters (escape sequences take no room). */
export function visibleLength(text: string): number {
  return stripAnsi(text).length;
}

/**
 * The SGR (colour and decoration) state after `text`, as the escape sequences that rebuild it.
 * A reset drops what came before; the list is capped so a program that never resets cannot grow it.
 */
export function sgrStateAfter(state: string, text: string): string {
  if (!text.includes("\x1b")) return state;
  let next = state;
  for (const match of text.matchAll(SGR)) {
    const params = match[1] ?? "";
    const first = params.split(";")[0];
    if (first === "" || first === "0") {
      next = params === "" || params === "0" ? "" : match[0];
    } else {
      next += match[0];
    }
  }
  const sequences = next.match(SGR);
  return sequences && sequences.length > 16 ? sequences.slice(-16).join("") : next;
}

/**
 * What a terminal shows after a carriage return: `next` overwrites `previous` from column 0, and
 * the rest of `previous` stays visible when `next` is shorter (keeping the styles in force there).
 */
export function overwrite(previous: string, next: string): string {
  const width = visibleLength(next);
  if (width >= visibleLength(previous)) return next;
  // Backspaces move the cursor: resolve them so columns below count what is shown.
  const shown = previous.includes("\b") ? sanitizeAnsi(previous) : previous;
  let visible = 0;
  let styles = "";
  let i = 0;
  while (i < shown.length && visible < width) {
    if (HAS_CONTROL.test(shown[i]!)) {
      CONTROL.lastIndex = i;
      const match = CONTROL.exec(shown);
      if (match && match.index === i) {
        if (IS_SGR.test(match[0])) styles = sgrStateAfter(styles, match[0]);
        i += match[0].length;
        continue;
      }
    }
    visible++;
    i++;
  }
  return `${next}\x1b[0m${styles}${shown.slice(i)}`;
}
