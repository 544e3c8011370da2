import type { Display } from "@mecha/protocol";

/** Longest prefix of `bytes` no longer than `max` that does not split a UTF-8 sequence. */
function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** The bytes a display counts toward the output limit: its JSON. */
export function displaySize(display: Display): number {
  return Buffer.byteLength(JSON.stringify(display));
}

/**
 * Collects stdout, stderr and displays under one byte cap, decoding UTF-8 as it streams
 * (invalid sequences become U+FFFD; a character split across chunks stays whole; `\r` is
 * kept). A display is whole or not there: one that does not fit ends the run.
 */
export class OutputCollector {
  stdout = "";
  stderr = "";
  readonly displays: Display[] = [];
  truncated = false;
  private bytes = 0;
  private readonly decoders = {
    stdout: new TextDecoder("utf-8"),
    stderr: new TextDecoder("utf-8"),
  };

  constructor(
    private readonly cap: number,
    private readonly emit: (stream: "stdout" | "stderr", data: string) => void,
    private readonly show: (display: Display) => void = () => {},
  ) {}

  /** Bytes counted so far. */
  get used(): number {
    return this.bytes;
  }

  /** Whether `bytes` more would still be within the cap. */
  fits(bytes: number): boolean {
    return !this.truncated && this.bytes + bytes <= this.cap;
  }

  /** Adds a display; returns false when it does not fit (the run must end; it is left out). */
  pushDisplay(display: Display): boolean {
    if (this.truncated) return false;
    const size = displaySize(display);
    if (this.bytes + size > this.cap) {
      this.truncated = true;
      return false;
    }
    this.bytes += size;
    this.displays.push(display);
    this.show(display);
    return true;
  }

  /** Adds a chunk; returns false once the cap is reached (the run must end). */
  push(stream: "stdout" | "stderr", chunk: Uint8Array): boolean {
    if (this.truncated) return false;
    let data = chunk;
    const room = this.cap - this.bytes;
    if (data.length > room) {
      data = utf8Prefix(data, room);
      this.truncated = true;
    }
    this.bytes += data.length;
    const text = this.decoders[stream].decode(data, { stream: !this.truncated });
    if (text) {
      this[stream] += text;
      this.emit(stream, text);
    }
    return !this.truncated;
  }

  /** Flushes any incomplete character left at the end of each stream. */
  finish(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.decoders[stream].decode();
      if (rest) {
        this[stream] += rest;
        this.emit(stream, rest);
      }
    }
  }
}
