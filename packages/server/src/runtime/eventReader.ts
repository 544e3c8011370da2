/** An event the bootstrap sends (see python/bootstrap.py); anything else on the channel is ignored. */
export type ProgramEvent =
  | { type: "input"; prompt: string }
  | { type: "error"; name: string; message: string; line: number | null; traceback: string };

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
    private readonly budget: number,
    private readonly onEvent: (event: ProgramEvent) => void,
  ) {}

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
