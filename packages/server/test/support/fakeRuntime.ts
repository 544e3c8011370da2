import {
  type RunJob,
  type RunningProgram,
  type RunOutcome,
  type RunSink,
  type Runtime,
  type RuntimeSession,
  SessionFileError,
  type SessionSpec,
} from "../../src/runtime/types";

/** A program the test drives: what it printed, its stdin, and how to end it. */
export interface FakeProgram {
  job: RunJob;
  sink: RunSink;
  stdin: { data: string; eof: boolean }[];
  cancelled: boolean;
  /** The session it runs in, if any. */
  session: FakeSession | null;
  end(outcome?: Partial<RunOutcome>): void;
  /** Settles with how it ended (by the test, or cancelled by the server). */
  ended: Promise<RunOutcome>;
}

/** A session's interpreter the test drives: its files, and whether it is still there. */
export interface FakeSession {
  spec: SessionSpec;
  /** Its working directory: what `GET /sessions/{id}/files/{path}` reads. */
  files: Map<string, string>;
  /** Ended: closed by the server, or dead. */
  closed: boolean;
  /** Its programs, in the order they started. */
  programs: FakeProgram[];
  /** Its interpreter dies (killed, out of memory): the run in progress ends with it. */
  die(): void;
}

/** A program that succeeded without output, for tests to spread and change. */
export const OUTCOME: RunOutcome = {
  status: "succeeded",
  exitCode: 0,
  signal: null,
  stdout: "",
  stderr: "",
  truncated: false,
  durationMs: 1,
  cpuTimeMs: null,
  memoryKb: null,
};

/** The most a fake session's file read returns (larger files are `too_large`). */
export const FAKE_FILE_LIMIT = 1024;

/**
 * A runtime whose programs are driven by the test (no Python): it learns of each start through
 * `started()` and says when and how each ends. With `sessions`, it opens sessions too (learnt
 * of through `opened()`), whose programs are driven the same way. For the HTTP layer's
 * behaviour, synchronised on events rather than on time.
 */
export function fakeRuntime(
  options: {
    packages?: { name: string; version: string }[];
    features?: string[];
    sessions?: boolean;
  } = {},
) {
  const programs: FakeProgram[] = [];
  const sessions: FakeSession[] = [];
  const waiting: ((program: FakeProgram) => void)[] = [];
  const opening: ((session: FakeSession) => void)[] = [];

  function launch(job: RunJob, sink: RunSink, session: FakeSession | null): RunningProgram {
    let resolve!: (outcome: RunOutcome) => void;
    const done = new Promise<RunOutcome>((settle) => {
      resolve = settle;
    });
    let stdout = "";
    let stderr = "";
    let ended = false;
    const kept = session ? { sessionState: "kept" as const } : {};
    const program: FakeProgram = {
      job,
      stdin: [],
      cancelled: false,
      session,
      sink: {
        stdout: (data) => {
          stdout += data;
          sink.stdout(data);
        },
        stderr: (data) => {
          stderr += data;
          sink.stderr(data);
        },
        input: (prompt) => sink.input(prompt),
        display: (display) => sink.display(display),
      },
      end: (outcome = {}) => {
        if (ended) return;
        ended = true;
        resolve({ ...OUTCOME, stdout, stderr, ...kept, ...outcome });
      },
      ended: done,
    };
    programs.push(program);
    session?.programs.push(program);
    waiting.shift()?.(program);
    return {
      writeStdin: (data, eof) => program.stdin.push({ data, eof }),
      stdinBuffered: 0,
      cancel() {
        program.cancelled = true;
        // In a session, a cancel interrupts the code and the session stays.
        program.end({
          status: "cancelled",
          exitCode: null,
          signal: session ? "SIGINT" : "SIGKILL",
        });
      },
      done,
    };
  }

  function openFake(spec: SessionSpec): RuntimeSession {
    let gone!: () => void;
    const ended = new Promise<void>((resolve) => {
      gone = resolve;
    });
    const session: FakeSession = {
      spec,
      files: new Map(spec.files.map((file) => [file.path, file.content])),
      closed: false,
      programs: [],
      die() {
        if (session.closed) return;
        session.closed = true;
        const last = session.programs.at(-1);
        last?.end({ status: "failed", exitCode: null, signal: "SIGKILL", sessionState: "lost" });
        gone();
      },
    };
    sessions.push(session);
    opening.shift()?.(session);
    return {
      start: (job, sink) => {
        const program = launch(job, sink, session);
        if (session.closed) {
          session.programs.at(-1)!.end({ status: "failed", exitCode: null, sessionState: "lost" });
        }
        return program;
      },
      async readFile(path) {
        if (session.closed) throw new SessionFileError("unavailable", "the session has ended");
        const content = session.files.get(path);
        if (content === undefined) {
          throw new SessionFileError(
            "not_found",
            `No regular file ${path} in the session's directory.`,
          );
        }
        if (content.length > FAKE_FILE_LIMIT) {
          throw new SessionFileError(
            "too_large",
            `${path} is over the ${FAKE_FILE_LIMIT}-byte limit.`,
          );
        }
        return { size: content.length, content: Buffer.from(content) };
      },
      get lost() {
        return session.closed;
      },
      ended,
      async close() {
        if (session.closed) return;
        session.closed = true;
        session.programs
          .at(-1)
          ?.end({ status: "cancelled", exitCode: null, signal: "SIGKILL", sessionState: "lost" });
        gone();
      },
    };
  }

  const runtime: Runtime = {
    info: async () => ({ language: "python", version: "3.11.2", isolation: "sandbox" }),
    packages: async () => options.packages ?? [],
    ...(options.features || options.sessions
      ? { features: [...(options.features ?? []), ...(options.sessions ? ["sessions"] : [])] }
      : {}),
    start: (job, sink) => launch(job, sink, null),
    ...(options.sessions ? { openSession: async (spec: SessionSpec) => openFake(spec) } : {}),
    close: async () => {},
  };
  /** The next program to start: ask before the request that starts it. */
  const started = (): Promise<FakeProgram> => new Promise((resolve) => waiting.push(resolve));
  /** The next session to open: ask before the request that opens it. */
  const opened = (): Promise<FakeSession> => new Promise((resolve) => opening.push(resolve));
  return { runtime, programs, started, sessions, opened };
}
