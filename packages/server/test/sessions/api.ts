import type { Problem, RunEvent, RunResult } from "@mecha/protocol";
import { expect } from "vitest";
import type { Fetcher, RunBody } from "../hostile/helpers";
import { EventStream } from "../hostile/stream";

const BASE = "http://localhost";

/** What `POST /sessions` takes. */
export interface SessionBody {
  language?: string;
  limits?: RunBody["limits"];
  files?: { path: string; content: string; encoding?: string }[];
  idleTimeoutMs?: number;
}

/** A session run's body: a run's, without `args`. */
export type SessionRunBody = Omit<RunBody, "args"> & { files?: SessionBody["files"] };

/** A response's problem body, checked to be one. */
export async function problemOf(response: Response): Promise<Problem> {
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  return (await response.json()) as Problem;
}

/**
 * The session routes of a handler as a client calls them over HTTP, each request made as
 * `headers` says (an `authorize` that reads a principal from them, say).
 */
export class SessionApi {
  constructor(
    readonly handler: Fetcher,
    private readonly headers: Record<string, string> = {},
  ) {}

  /** The same handler as another caller (another principal, when `authorize` reads headers). */
  as(headers: Record<string, string>): SessionApi {
    return new SessionApi(this.handler, headers);
  }

  request(method: string, path: string, body?: unknown, accept?: string): Promise<Response> {
    return this.handler(
      new Request(`${BASE}${path}`, {
        method,
        headers: {
          ...this.headers,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...(accept ? { accept } : {}),
        },
        ...(body === undefined
          ? {}
          : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      }),
    );
  }

  /** `POST /sessions`, as it answered. */
  create(body: SessionBody = {}): Promise<Response> {
    return this.request("POST", "/sessions", { language: "python", ...body });
  }

  /** `POST /sessions` that must succeed: the new session's id. */
  async open(body: SessionBody = {}): Promise<string> {
    const response = await this.create(body);
    const text = await response.text();
    if (response.status !== 201) {
      throw new Error(`POST /sessions answered ${response.status}: ${text.slice(0, 500)}`);
    }
    return (JSON.parse(text) as { id: string }).id;
  }

  /** `POST /sessions/{id}/runs` as JSON, as it answered. */
  post(id: string, body: SessionRunBody): Promise<Response> {
    return this.request("POST", `/sessions/${id}/runs`, body);
  }

  /** A run in session `id` that must be answered 200: its result. */
  async run(id: string, body: SessionRunBody | string): Promise<RunResult> {
    const response = await this.post(id, typeof body === "string" ? { code: body } : body);
    const text = await response.text();
    if (response.status !== 200) {
      throw new Error(
        `POST /sessions/${id}/runs answered ${response.status}: ${text.slice(0, 500)}`,
      );
    }
    return JSON.parse(text) as RunResult;
  }

  /** A run in session `id` that must succeed and keep the session: its result. */
  async ok(id: string, body: SessionRunBody | string): Promise<RunResult> {
    const result = await this.run(id, body);
    expect(result.status, result.stderr).toBe("succeeded");
    expect(result.session).toEqual({ id, state: "kept" });
    return result;
  }

  /** A streaming run in session `id`, read up to its `started` event. */
  async stream(id: string, body: SessionRunBody | string): Promise<SessionStream> {
    const response = await this.request(
      "POST",
      `/sessions/${id}/runs`,
      typeof body === "string" ? { code: body } : body,
      "application/x-ndjson",
    );
    if (response.status !== 200) {
      throw new Error(
        `POST /sessions/${id}/runs answered ${response.status}: ${await response.text()}`,
      );
    }
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const stream = new SessionStream(this, response.body!.getReader());
    await stream.until(() => stream.id !== "" || stream.result !== null);
    return stream;
  }

  get(path: string): Promise<Response> {
    return this.request("GET", path);
  }

  /** `GET /sessions/{id}/files/{path}` (the path as given: escapes are the caller's). */
  file(id: string, path: string): Promise<Response> {
    return this.get(`/sessions/${id}/files/${path}`);
  }

  delete(id: string): Promise<Response> {
    return this.request("DELETE", `/sessions/${id}`);
  }

  /** `GET /sessions/{id}` that must answer 200: the session's description. */
  async describe(
    id: string,
  ): Promise<{ id: string; state: string; runId?: string; expiresAt: string }> {
    const response = await this.get(`/sessions/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as {
      id: string;
      state: string;
      runId?: string;
      expiresAt: string;
    };
  }
}

/** A session's streaming run (`Accept: application/x-ndjson`) read event by event. */
export class SessionStream extends EventStream {
  constructor(
    private readonly api: SessionApi,
    reader: ReadableStreamDefaultReader<Uint8Array>,
  ) {
    super(reader);
  }

  /** Reads until the program waits for input (an `input` event); fails if the run ends first. */
  async untilInput(): Promise<Extract<RunEvent, { type: "input" }>> {
    const waiting = () => this.events.find((event) => event.type === "input");
    await this.until(() => waiting() !== undefined || this.result !== null);
    const event = waiting();
    if (event?.type !== "input")
      throw new Error(`the run ended without asking for input: ${this.stderr}`);
    return event;
  }

  /** `POST /runs/{id}/stdin`. */
  writeStdin(data: string, eof = false): Promise<Response> {
    return this.api.request("POST", `/runs/${this.id}/stdin`, { data, eof });
  }

  /** `POST /runs/{id}/cancel`. */
  cancel(): Promise<Response> {
    return this.api.request("POST", `/runs/${this.id}/cancel`);
  }
}
