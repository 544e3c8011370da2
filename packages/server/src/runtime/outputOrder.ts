import type { Display } from "@mecha/protocol";

export type Stream = "stdout" | "stderr";

/** A display as the bootstrap sent it: its number, and the streams it marked its place in. */
export interface OrderedDisplay {
  n: number | null;
  marks: readonly Stream[];
  display: Display;
}

/** The end of a session's run, marked as a display is: what came before it is the run's. */
export interface OrderedEnd {
  n: number | null;
  marks: readonly Stream[];
  cell: number;
  /** The run's exit status as the interpreter reports it (0, 1, or a SystemExit's). */
  status: number;
  /** It ended in a KeyboardInterrupt (an interrupt the server asked for, usually). */
  interrupted: boolean;
}

type Ordered = OrderedDisplay | OrderedEnd;

/** Where ordered output goes; each returns false once the run is over its output limit. */
export interface OrderedOutput {
  text(stream: Stream, chunk: Buffer): boolean;
  display(display: Display): boolean;
  /** Whether `bytes` more, held back for now, still fit the limit. */
  fits(bytes: number): boolean;
  /** A session's run has ended here: what follows in each stream is the next one's. */
  end?(end: OrderedEnd): void;
}

const BEL = 0x07;
const ESC = 0x1b;
const MAX_DIGITS = 12;

/** The bytes the bootstrap writes into a stream where display `n` falls (see mecha_display.py). */
export function markerPrefix(marker: string): Buffer {
  return Buffer.from(`\x1bMECHA${marker}#`, "latin1");
}

/**
 * Splits one stream into its text and the display markers in it (`ESC MECHA <marker> # <n> BEL`).
 * A marker cut between chunks is held until the rest arrives; nothing else is held.
 */
export class MarkerScanner {
  private tail: Buffer | null = null;

  constructor(private readonly prefix: Buffer) {}

  scan(chunk: Buffer): (Buffer | number)[] {
    const data = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    this.tail = null;
    const items: (Buffer | number)[] = [];
    const { prefix } = this;
    let start = 0;
    while (start < data.length) {
      const at = data.indexOf(prefix, start);
      if (at < 0) {
        const keep = this.partial(data, start);
        if (data.length - keep > start) items.push(data.subarray(start, data.length - keep));
        if (keep > 0) this.tail = Buffer.from(data.subarray(data.length - keep));
        break;
      }
      if (at > start) items.push(data.subarray(start, at));
      const digits = at + prefix.length;
      const end = data.indexOf(BEL, digits);
      if (end < 0 && data.length - digits <= MAX_DIGITS) {
        this.tail = Buffer.from(data.subarray(at));
        break;
      }
      const text = end < 0 ? "" : data.toString("latin1", digits, end);
      if (end >= 0 && /^\d{1,12}$/.test(text)) {
        items.push(Number(text));
        start = end + 1;
      } else {
        // Not a marker after all: its bytes are output like any other.
        items.push(data.subarray(at, digits));
        start = digits;
      }
    }
    return items;
  }

  /** Bytes at the end of `data` (from `start`) that may begin a marker. */
  private partial(data: Buffer, start: number): number {
    const from = Math.max(start, data.length - this.prefix.length + 1);
    const last = data.lastIndexOf(ESC);
    if (last < from) return 0;
    const rest = data.subarray(last);
    return this.prefix.subarray(0, rest.length).equals(rest) ? rest.length : 0;
  }

  /** What is held at the end of the stream: output after all. */
  flush(): Buffer | null {
    const tail = this.tail;
    this.tail = null;
    return tail;
  }
}

/**
 * Puts a run's displays in program order relative to its stdout and stderr, which reach the
 * server on three pipes. Before sending display n, the bootstrap flushes the program's streams
 * and writes marker n into stdout and stderr (each one it can: see mecha_display.py); then the
 * display on the event channel. Here each stream flows until its marker n, then holds what
 * follows until display n has gone out, and display n goes out once every stream it marked has
 * reached its marker. What is held counts toward the output limit as it arrives. Anything left
 * when the run ends (a display whose marker never came, output after a marker the program forged)
 * goes out then, in the order it arrived.
 */
export class OutputOrder {
  private readonly scanners: Record<Stream, MarkerScanner>;
  private readonly held: Record<Stream, (Buffer | number)[] | null> = {
    stdout: null,
    stderr: null,
  };
  /** The marker each stream is held at. */
  private readonly at: Record<Stream, number | null> = { stdout: null, stderr: null };
  /** The last marker each stream was let flow past before its display came (see `abandon`). */
  private readonly passed: Record<Stream, number> = { stdout: -1, stderr: -1 };
  private readonly queue: Ordered[] = [];
  private heldBytes = 0;
  /** The run has ended: markers no longer hold anything. */
  private ended = false;

  constructor(
    marker: string,
    private readonly out: OrderedOutput,
  ) {
    const prefix = markerPrefix(marker);
    this.scanners = { stdout: new MarkerScanner(prefix), stderr: new MarkerScanner(prefix) };
  }

  /** A chunk of a stream; false once the run is over its output limit. */
  push(stream: Stream, chunk: Buffer): boolean {
    let ok = true;
    for (const item of this.scanners[stream].scan(chunk)) ok = this.route(stream, item) && ok;
    return ok && this.out.fits(this.heldBytes);
  }

  /** A display (or a session run's end) from the event channel; false once over the output limit. */
  display(entry: Ordered): boolean {
    this.queue.push(entry);
    return this.release();
  }

  /** Bytes held back now, behind markers whose displays have not come. */
  get holding(): number {
    return this.heldBytes;
  }

  /**
   * Lets every stream flow on past the markers it is held at, as if their displays will not
   * come (a marker the program forged, or more held than the caller will wait for). Markers that
   * arrive later hold again. False once the run is over its output limit.
   */
  letGo(): boolean {
    return this.abandon(Number.POSITIVE_INFINITY);
  }

  /** Sends out everything still held, as nearly in order as what arrived allows (the run has ended). */
  finish(): void {
    while (this.queue.length > 0) this.send();
    this.ended = true;
    for (const stream of ["stdout", "stderr"] as const) {
      this.unhold(stream);
      const tail = this.scanners[stream].flush();
      if (tail) this.route(stream, tail);
    }
  }

  private route(stream: Stream, item: Buffer | number): boolean {
    const held = this.held[stream];
    if (held) {
      held.push(item);
      if (typeof item !== "number") this.heldBytes += item.length;
      return true;
    }
    if (typeof item !== "number") return this.out.text(stream, item);
    if (this.ended) return true;
    this.held[stream] = [];
    this.at[stream] = item;
    return this.release();
  }

  /** Sends out displays from the head of the queue while each may go. */
  private release(): boolean {
    let ok = true;
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      ok = this.abandon(head.n) && ok;
      if (!head.marks.every((stream) => this.reached(stream, head.n))) break;
      ok = this.send() && ok;
    }
    return ok;
  }

  /** Whether `stream` has reached marker `n`: held there, or let flow past it. */
  private reached(stream: Stream, n: number | null): boolean {
    return this.at[stream] === n || (n !== null && this.passed[stream] >= n);
  }

  /**
   * Lets flow each stream held at a marker before `n`, which came with no display: the event
   * channel is in order, so once entry `n` has come, none before it will (a display whose
   * sending was interrupted after its markers were written, or a marker the program forged).
   */
  private abandon(n: number | null): boolean {
    let ok = true;
    if (n === null) return ok;
    for (const stream of ["stdout", "stderr"] as const) {
      // What it held may reach a later marker and hold there: at only grows.
      for (let at = this.at[stream]; at !== null && at < n; at = this.at[stream]) {
        // A display let go of (see letGo) may still come: it goes out then, holding nothing.
        this.passed[stream] = Math.max(this.passed[stream], at);
        ok = this.unhold(stream) && ok;
      }
    }
    return ok;
  }

  /** Sends out the display at the head of the queue, and the streams it held. */
  private send(): boolean {
    const head = this.queue.shift();
    if (!head) return true;
    let ok = true;
    if ("display" in head) ok = this.out.display(head.display);
    else this.out.end?.(head);
    for (const stream of head.marks) if (this.at[stream] === head.n) ok = this.unhold(stream) && ok;
    return ok;
  }

  /** Lets a stream flow again from its marker: what it held goes out (up to its next marker). */
  private unhold(stream: Stream): boolean {
    const held = this.held[stream];
    if (!held) return true;
    this.held[stream] = null;
    this.at[stream] = null;
    let ok = true;
    for (const item of held) {
      if (typeof item !== "number") this.heldBytes -= item.length;
      ok = this.route(stream, item) && ok;
    }
    return ok;
  }
}
