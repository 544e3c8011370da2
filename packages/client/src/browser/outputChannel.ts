export type OutputStream = "stdout" | "stderr";

export interface OutputChannelOptions {
  /** Cap on stdout and stderr together, in bytes. */
  limit: number;
  /** Receives decoded text, in order, coalesced under load. */
  emit(stream: OutputStream, data: string): void;
  /** Called once, when the cap is reached. */
  onLimit(): void;
  now(): number;
  /** Messages sent at once per window before output is batched. @default 8 */
  burst?: number;
  /** @default 20 */
  windowMs?: number;
}

export interface OutputChannel {
  /** Adds bytes a stream produced; bytes beyond the cap are dropped. */
  push(stream: OutputStream, bytes: Uint8Array): void;
  /** Sends what is batched now (before the program blocks: sleep, input, exit). */
  flush(): void;
  /** Flushes incomplete characters and the batch: the run is over. */
  finish(): void;
  readonly truncated: boolean;
}

/** Longest prefix of `bytes` no longer than `max` that does not split a UTF-8 sequence. */
export function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

const MAX_BATCH = 64 * 1024;

/**
 * Program output on its way from the interpreter to the page: UTF-8 decoded as it streams (a
 * character split across writes stays whole), one byte cap over both streams (as the server's),
 * and sent as it is written — except in a flood, where writes beyond `burst` per window are
 * batched so the page is not swamped with messages.
 */
export function createOutputChannel(options: OutputChannelOptions): OutputChannel {
  const { limit, emit, onLimit, now, burst = 8, windowMs = 20 } = options;
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  let bytes = 0;
  let truncated = false;
  let pending: { stream: OutputStream; data: string } | undefined;
  let windowStart = Number.NEGATIVE_INFINITY;
  let sent = 0;

  function flush(): void {
    if (!pending) return;
    const { stream, data } = pending;
    pending = undefined;
    sent++;
    emit(stream, data);
  }

  function queue(stream: OutputStream, text: string): void {
    if (pending && pending.stream !== stream) flush();
    pending = { stream, data: (pending?.data ?? "") + text };
    const time = now();
    if (time - windowStart >= windowMs) {
      windowStart = time;
      sent = 0;
    }
    if (sent < burst || pending.data.length >= MAX_BATCH) flush();
  }

  return {
    push(stream, chunk) {
      if (truncated) return;
      let data = chunk;
      const room = limit - bytes;
      if (data.length > room) {
        data = utf8Prefix(data, room);
        truncated = true;
      }
      bytes += data.length;
      const text = decoders[stream].decode(data, { stream: !truncated });
      if (text) queue(stream, text);
      if (truncated) {
        flush();
        onLimit();
      }
    },
    flush,
    finish() {
      for (const stream of ["stdout", "stderr"] as const) {
        const rest = decoders[stream].decode();
        if (rest) queue(stream, rest);
      }
      flush();
    },
    get truncated() {
      return truncated;
    },
  };
}
