import type { RunEvent, RunResult } from "@mecha/protocol";
import { expect } from "vitest";
import { type Fetcher, type RunBody, runRequest } from "./helpers";

/** A stream of run events (`Accept: application/x-ndjson`) read event by event. */
export class EventStream {
  id = "";
  stdout = "";
  stderr = "";
  readonly events: RunEvent[] = [];
  result: RunResult | null = null;
  private buffered = "";
  private readonly decoder = new TextDecoder();

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Reads events until `done()` holds or the stream ends. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) {
      const { value, done: ended } = await this.reader.read();
      if (ended) return;
      this.buffered += this.decoder.decode(value, { stream: true });
      for (let newline = this.buffered.indexOf("\n"); newline >= 0; ) {
        this.take(JSON.parse(this.buffered.slice(0, newline)) as RunEvent);
        this.buffered = this.buffered.slice(newline + 1);
        newline = this.buffered.indexOf("\n");
      }
    }
  }

  /** Reads until stdout holds `text`; fails if the run ends first. */
  async untilStdout(text: string): Promise<void> {
    await this.until(() => this.stdout.includes(text) || this.result !== null);
    expect(this.stdout, `stdout never showed ${JSON.stringify(text)}: ${this.stderr}`).toContain(
      text,
    );
  }

  /** Reads to the end and returns the run's result. */
  async finished(): Promise<RunResult> {
    await this.until(() => this.result !== null);
    if (!this.result) throw new Error(`the stream ended without a result: ${this.stderr}`);
    return this.result;
  }

  private take(event: RunEvent): void {
    this.events.push(event);
    if (event.type === "started") this.id = event.id;
    else if (event.type === "stdout") this.stdout += event.data;
    else if (event.type === "stderr") this.stderr += event.data;
    else if (event.type === "exit") this.result = event.result;
  }
}

/** A streaming run of `POST /runs`, with its stdin and cancel. */
export class RunStream extends EventStream {
  constructor(
    private readonly handler: Fetcher,
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {
    super(reader);
  }

  /** POST /runs/{id}/stdin. */
  writeStdin(data: string, eof = false): Promise<Response> {
    return this.handler(
      new Request(`http://localhost/runs/${this.id}/stdin`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data, eof }),
      }),
    );
  }

  /** Cancels the run and reads to its result. */
  async cancel(): Promise<RunResult> {
    if (this.result) return this.result;
    await this.handler(new Request(`http://localhost/runs/${this.id}/cancel`, { method: "POST" }));
    return this.finished();
  }
}

/** Starts a streaming run and reads up to its `started` event. */
export async function openRun(handler: Fetcher, body: RunBody): Promise<RunStream> {
  const response = await handler(runRequest(body, "application/x-ndjson"));
  if (response.status !== 200) {
    throw new Error(`POST /runs answered ${response.status}: ${await response.text()}`);
  }
  const stream = new RunStream(handler, response.body!.getReader());
  await stream.until(() => stream.id !== "" || stream.result !== null);
  return stream;
}
