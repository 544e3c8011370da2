import type { CreateSessionRequest, ErrorCode, RunRequest } from "@mecha/protocol";
import type { BackendRun, BackendSession, BackendStartOptions } from "../backend";
import { HttpError } from "../errors/HttpError";
import { UnavailableError } from "../errors/UnavailableError";
import type { PageMessage, WorkerMessage } from "./workerProtocol";
import type { WorkerRuntime } from "./workerRuntime";

/** The worker a session lives in: its namespace and folder are there, and die with it. */
export interface SessionBinding {
  readonly id: string;
  readonly runtime: WorkerRuntime;
}

export interface BrowserSessionsHost {
  /** The loaded worker new sessions open in. */
  ensure(): Promise<WorkerRuntime>;
  /** Queues a run of the session in its worker, like any run of the backend. */
  startRun(request: RunRequest, options: BackendStartOptions, session: SessionBinding): BackendRun;
}

export interface BrowserSessions {
  createSession(request: CreateSessionRequest): Promise<BackendSession>;
  /** Takes a worker's `reply`. */
  receive(message: Extract<WorkerMessage, { type: "reply" }>): void;
  /** The worker ended (or every worker, without one): what waited on it learns so. */
  ended(runtime?: WorkerRuntime): void;
}

const TITLES: Partial<Record<ErrorCode, string>> = {
  not_found: "Not found",
  session_busy: "Session busy",
  session_lost: "Session lost",
  invalid_request: "Invalid request",
};

/** The error the server would answer with, for a session of the browser backend. */
export function sessionProblem(code: ErrorCode, status: number, detail: string): HttpError {
  const title = TITLES[code] ?? code;
  return new HttpError(`${title}: ${detail}`, {
    status,
    problem: { type: `urn:mecha:problem:${code}`, title, status, detail, code },
  });
}

const lostDetail = (id: string) =>
  `the session ${id} is gone with its state: Python in the browser was restarted (a program had to be stopped, or the runtime failed). Open a new session.`;

/** A worker's answer to `open-session` or `read-file`; `ended` when the worker ended first. */
interface Reply {
  bytes?: Uint8Array | null;
  error?: string;
  ended?: boolean;
}

/** A run that fails at once, for a session that cannot take it. */
function refused(error: HttpError): BackendRun {
  const result = Promise.reject(error);
  result.catch(() => {});
  return { result, sendStdin: () => result.then(), cancel: async () => {} };
}

/**
 * Sessions of the browser backend: a session keeps its globals, imported modules and folder in
 * the worker between runs, one run at a time, until it is closed or its worker ends (then it is
 * `session_lost`, as on the server).
 */
export function createBrowserSessions(host: BrowserSessionsHost): BrowserSessions {
  let sessions = 0;
  let requests = 0;
  const waiting = new Map<number, { runtime: WorkerRuntime; settle(reply: Reply): void }>();

  function ask(runtime: WorkerRuntime, message: PageMessage): Promise<Reply> {
    return new Promise((settle) => {
      waiting.set((message as { request: number }).request, { runtime, settle });
      runtime.worker.postMessage(message);
    });
  }

  async function createSession(request: CreateSessionRequest): Promise<BackendSession> {
    const runtime = await host.ensure();
    const binding: SessionBinding = { id: `browser_session_${++sessions}`, runtime };
    const { id } = binding;
    const opened = await ask(runtime, {
      type: "open-session",
      session: id,
      files: request.files ?? [],
      request: ++requests,
    });
    if (opened.ended)
      throw new UnavailableError("Python in the browser stopped while opening a session.");
    if (opened.error !== undefined) throw sessionProblem("invalid_request", 400, opened.error);
    let running = false;
    let closed = false;
    const gone = () =>
      runtime.dead || closed
        ? sessionProblem(
            closed ? "not_found" : "session_lost",
            closed ? 404 : 410,
            closed ? `the session ${id} was closed.` : lostDetail(id),
          )
        : null;
    return {
      id,
      expiresAt: null,
      start(run, options) {
        const problem =
          gone() ??
          (running
            ? sessionProblem("session_busy", 409, `the session ${id} runs one program at a time.`)
            : null);
        if (problem) return refused(problem);
        running = true;
        const started = host.startRun(
          { language: request.language, ...run, limits: run.limits ?? request.limits },
          options,
          binding,
        );
        const done = () => {
          running = false;
        };
        started.result.then(done, done);
        return started;
      },
      async readFile(path) {
        const problem = gone();
        if (problem) throw problem;
        const reply = await ask(runtime, {
          type: "read-file",
          session: id,
          path,
          request: ++requests,
        });
        if (reply.ended) throw sessionProblem("session_lost", 410, lostDetail(id));
        if (!reply.bytes) {
          const why = reply.error === undefined ? "" : ` (${reply.error})`;
          throw sessionProblem(
            "not_found",
            404,
            `the session ${id} has no file ${JSON.stringify(path)}${why}.`,
          );
        }
        return reply.bytes;
      },
      async close() {
        if (closed) return;
        closed = true;
        if (!runtime.dead) runtime.worker.postMessage({ type: "close-session", session: id });
      },
    };
  }

  return {
    createSession,
    receive(message) {
      const entry = waiting.get(message.request);
      waiting.delete(message.request);
      entry?.settle(message);
    },
    ended(runtime) {
      for (const [request, entry] of waiting) {
        if (runtime && entry.runtime !== runtime) continue;
        waiting.delete(request);
        entry.settle({ ended: true });
      }
    },
  };
}
