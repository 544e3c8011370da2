/** Longest prefix of `bytes` no longer than `max` that does not split a UTF-8 sequence. */
function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/**
 * Collects stdout and stderr under one byte cap, decoding UTF-8 as it streams (invalid
 * sequences become U+FFFD; a character split across chunks stays whole; `\r` is kept).
 */
export class OutputCollector {
  stdout = "";
  stderr = "";
  truncated = false;
  private bytes = 0;
  private readonly decoders = {
    stdout: new TextDecoder("utf-8"),
    stderr: new TextDecoder("utf-8"),
  };

  constructor(
    private readonly cap: number,
    private readonly emit: (stream: "stdout" | "stderr", data: string) => void,
  ) {}

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
