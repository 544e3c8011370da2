import type { Display } from "@mecha/protocol";
import { overwrite, sgrStateAfter, stripAnsi } from "./ansi";

/**
 * Where a line of the transcript came from. `stdin` is what the user typed; `info` is a note;
 * `display` is rich output (a plot, a table), in order with the text around it.
 */
export type TerminalStream = "stdout" | "stderr" | "stdin" | "info" | "display";

/** One line of the transcript. Line objects are immutable: a change replaces the object. */
export interface TerminalLine {
  /** Stable, increasing key for rendering. */
  readonly id: number;
  readonly stream: TerminalStream;
  /** The line's text, with any ANSI escape sequences. */
  readonly text: string;
  /** ANSI styles in force when the line began (colours carry across lines, as in a terminal). */
  readonly style: string;
  /** The user's answer to an `input()` prompt, echoed after the prompt text. */
  readonly input?: string;
  /**
   * Rich output, on a line of stream `display`: its MIME bundle, e.g. `image/png` (base64) or
   * `text/html` (the program's: sanitise it, or show it in a sandboxed frame). `text` is its
   * `text/plain`, which may span several lines.
   */
  readonly display?: Display;
}

/** A line given to a controlled terminal: plain text, or text with its stream. */
export type TerminalLineInput = string | { text: string; stream?: TerminalStream };

export interface TerminalBufferOptions {
  /**
   * Caps the transcript. Lines are dropped in batches, oldest first: once it holds a tenth more
   * than this (at least one more), it goes back to `maxLines`, so it never holds more than
   * `maxLines + maxLines / 10` lines.
   * @default Infinity
   */
  maxLines?: number;
}

/**
 * A terminal transcript: output written in chunks becomes lines, `\r` rewrites the current line
 * in place (progress bars), and colours carry across lines. Framework-free and observable; the
 * `<Terminal>` of `@mecha/react` renders it.
 */
export interface TerminalBuffer {
  /** All lines, oldest first. Do not mutate. */
  readonly lines: ReadonlyArray<TerminalLine>;
  /** Changes on every update; a cheap snapshot for `useSyncExternalStore`. */
  readonly version: number;
  /** Appends a chunk of program output. */
  write(stream: "stdout" | "stderr" | "info", data: string): void;
  /** Appends whole lines (each entry is one line). */
  writeLines(lines: ReadonlyArray<TerminalLineInput>): void;
  /** Appends rich output as a line of its own, after what was written before it. */
  writeDisplay(display: Display): void;
  /** Echoes the user's answer to a prompt and ends the line, as a terminal shows typed input. */
  echoInput(text: string): void;
  /** Removes every line. */
  clear(): void;
  /** The transcript as plain text, without escape sequences. */
  toString(): string;
  subscribe(listener: () => void): () => void;
}

interface OpenLine {
  index: number;
  stream: TerminalStream;
  /** A `\r` was written: the next text overwrites the line from column 0. */
  carriageReturn: boolean;
}

class Buffer implements TerminalBuffer {
  private store: TerminalLine[] = [];
  private nextId = 0;
  private open: OpenLine | null = null;
  private styles: Record<string, string> = {};
  private listeners = new Set<() => void>();
  private readonly maxLines: number;
  version = 0;

  constructor(options: TerminalBufferOptions = {}) {
    this.maxLines = options.maxLines ?? Number.POSITIVE_INFINITY;
  }

  get lines(): ReadonlyArray<TerminalLine> {
    return this.store;
  }

  write(stream: "stdout" | "stderr" | "info", data: string): void {
    if (data === "") return;
    const parts = data.split(/(\r\n|\n|\r)/);
    for (const part of parts) {
      if (part === "\n" || part === "\r\n") {
        if (!this.openFor(stream)) this.push(stream, "");
        this.open = null;
      } else if (part === "\r") {
        const open = this.openFor(stream);
        if (open) open.carriageReturn = true;
      } else if (part !== "") {
        this.append(stream, part);
      }
    }
    this.changed();
  }

  writeLines(lines: ReadonlyArray<TerminalLineInput>): void {
    for (const line of lines) {
      const { text, stream = "stdout" } = typeof line === "string" ? { text: line } : line;
      if (stream === "stdin") {
        this.open = null;
        this.push("stdin", "", { input: text });
        this.open = null;
      } else if (stream === "display") {
        this.writeDisplay({ data: { "text/plain": text } });
      } else {
        this.open = null;
        this.write(stream, `${text}\n`);
      }
    }
    this.changed();
  }

  echoInput(text: string): void {
    const open = this.open;
    if (open && open.stream !== "stdin") {
      const line = this.store[open.index]!;
      this.store[open.index] = { ...line, input: text };
    } else {
      this.push("stdin", "", { input: text });
    }
    this.open = null;
    this.changed();
  }

  writeDisplay(display: Display): void {
    this.open = null;
    this.push("display", display.data["text/plain"], { display });
    this.changed();
  }

  clear(): void {
    this.store = [];
    this.open = null;
    this.styles = {};
    this.changed();
  }

  toString(): string {
    return this.store.map((line) => stripAnsi(line.text) + (line.input ?? "")).join("\n");
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private openFor(stream: TerminalStream): OpenLine | null {
    return this.open && this.open.stream === stream ? this.open : null;
  }

  private append(stream: TerminalStream, text: string): void {
    const open = this.openFor(stream);
    if (open) {
      const line = this.store[open.index]!;
      const merged = open.carriageReturn ? overwrite(line.text, text) : line.text + text;
      open.carriageReturn = false;
      this.store[open.index] = { ...line, text: merged };
    } else {
      this.push(stream, text);
      this.open = { index: this.store.length - 1, stream, carriageReturn: false };
    }
    this.styles[stream] = sgrStateAfter(this.styles[stream] ?? "", text);
  }

  private push(
    stream: TerminalStream,
    text: string,
    extra?: { input: string } | { display: Display },
  ): void {
    const style = this.styles[stream] ?? "";
    this.store.push({ id: this.nextId++, stream, text, style, ...extra });
    this.trim();
  }

  private trim(): void {
    // Drop in batches so a long stream does not shift the whole array on every line.
    const excess = this.store.length - this.maxLines;
    if (excess <= 0 || excess < Math.max(1, Math.floor(this.maxLines / 10))) return;
    this.store.splice(0, excess);
    if (this.open) {
      this.open.index -= excess;
      if (this.open.index < 0) this.open = null;
    }
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) listener();
  }
}

/**
 * Creates an empty terminal transcript.
 * @example
 * const buffer = createTerminalBuffer();
 * buffer.write("stdout", "\x1b[32mok\x1b[0m\n");
 */
export function createTerminalBuffer(options?: TerminalBufferOptions): TerminalBuffer {
  return new Buffer(options);
}
