import type { Display } from "@mecha/protocol";
import type { OrderedDisplay, OrderedEnd, Stream } from "./outputOrder";

/** An event the bootstrap sends (see python/bootstrap.py); anything else on the channel is ignored. */
export type ProgramEvent =
  | { type: "input"; prompt: string }
  /** A session is set up and waits for its first run. */
  | { type: "ready" }
  /** A session's run has ended (its status as the interpreter saw it), marked like a display. */
  | ({ type: "end" } & OrderedEnd)
  /** A session's answer to a file read. */
  | { type: "read"; id: number; size: number | null; content: string | null; error: string | null }
  | { type: "error"; name: string; message: string; line: number | null; traceback: string }
  | ({ type: "display" } & OrderedDisplay)
  | { type: "file"; path: string; size: number; content: string | null }
  /** A Windows job object's counters once the program has ended (see python/mecha_windows.py). */
  | {
      type: "accounting";
      cpuTimeMs: number | null;
      memoryKb: number | null;
      memoryLimited: boolean;
    };

/**
 * Reads the event channel: JSON lines, split in one pass over each chunk (never rescanning what
 * came before), under a byte budget. The program can write to the channel itself, so what it
 * says is only ever a claim about its own output, and it costs the run's output budget.
 */
export class EventReader {
  private parts: Buffer[] = [];
  private bytes = 0;
  private over = false;

  constructor(
    private budget: number,
    private readonly onEvent: (event: ProgramEvent) => void,
  ) {}

  /** Allows `bytes` more (a session's next run, a file it is asked for). */
  grant(bytes: number): void {
    this.budget += bytes;
  }

  /** Takes a chunk; false once the channel has carried more than its budget (the run must end). */
  push(chunk: Buffer): boolean {
    if (this.over) return false;
    this.bytes += chunk.length;
    if (this.bytes > this.budget) {
      this.over = true;
      this.parts = [];
      return false;
    }
    let start = 0;
    for (let newline = chunk.indexOf(10); newline >= 0; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      const line = this.parts.length ? Buffer.concat([...this.parts, piece]) : piece;
      this.parts = [];
      this.handle(line);
      start = newline + 1;
    }
    if (start < chunk.length) {
      this.parts.push(chunk.subarray(start));
    }
    return true;
  }

  private handle(line: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(line.toString("utf8"));
    } catch {
      return;
    }
    const event = toEvent(value);
    if (event) this.onEvent(event);
  }
}

function toEvent(value: unknown): ProgramEvent | null {
  if (typeof value !== "object" || value === null) return null;
  const event = value as Record<string, unknown>;
  if (event.type === "input" && typeof event.prompt === "string") {
    return { type: "input", prompt: event.prompt };
  }
  if (event.type === "display") return toDisplay(event);
  if (event.type === "ready") return { type: "ready" };
  if (event.type === "end") {
    const cell = event.cell;
    const status = event.status;
    return {
      type: "end",
      ...marking(event),
      cell: Number.isSafeInteger(cell) ? (cell as number) : -1,
      status: Number.isInteger(status) && (status as number) >= 0 ? (status as number) : 1,
      interrupted: event.interrupted === true,
    };
  }
  if (event.type === "read") {
    if (!Number.isSafeInteger(event.id)) return null;
    const { size, content, error } = event;
    return {
      type: "read",
      id: event.id as number,
      size: Number.isSafeInteger(size) && (size as number) >= 0 ? (size as number) : null,
      content: typeof content === "string" ? content : null,
      error: typeof error === "string" ? error : null,
    };
  }
  if (event.type === "file") {
    const { path, size, content } = event;
    if (typeof path !== "string" || !Number.isSafeInteger(size) || (size as number) < 0)
      return null;
    if (content !== null && typeof content !== "string") return null;
    return { type: "file", path, size: size as number, content };
  }
  if (event.type === "accounting") {
    const count = (value: unknown) =>
      typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
    return {
      type: "accounting",
      cpuTimeMs: count(event.cpuTimeMs),
      memoryKb: count(event.memoryKb),
      memoryLimited: event.memoryLimited === true,
    };
  }
  if (event.type === "error") {
    const line = event.line;
    return {
      type: "error",
      name: String(event.name ?? "Exception"),
      message: String(event.message ?? ""),
      line: typeof line === "number" && Number.isInteger(line) && line > 0 ? line : null,
      traceback: String(event.traceback ?? ""),
    };
  }
  return null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A display as the protocol has it: a MIME bundle of strings, always with `text/plain`, and its
 * metadata if it is an object. Whatever else the program put in is left out.
 */
function toDisplay(event: Record<string, unknown>): ProgramEvent | null {
  if (!isObject(event.data)) return null;
  const data: Display["data"] = { "text/plain": "" };
  for (const [mime, value] of Object.entries(event.data)) {
    if (typeof value === "string") data[mime] = value;
  }
  const display: Display = isObject(event.metadata) ? { data, metadata: event.metadata } : { data };
  return { type: "display", ...marking(event), display };
}

/** Where an event was marked into stdout and stderr: its number and the streams marked. */
function marking(event: Record<string, unknown>): { n: number | null; marks: Stream[] } {
  const n = Number.isSafeInteger(event.n) && (event.n as number) > 0 ? (event.n as number) : null;
  const marks: Stream[] = [];
  if (n !== null && typeof event.marks === "number") {
    if (event.marks & 1) marks.push("stdout");
    if (event.marks & 2) marks.push("stderr");
  }
  return { n, marks };
}
