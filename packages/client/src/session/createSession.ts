import type { CreateSessionRequest, SessionRunRequest } from "@mecha/protocol";
import type { Backend, BackendKind, BackendSession, ClientRunResult } from "../backend";
import { CLIENT_INTERNALS, type ClientInternals } from "../clientInternals";
import type { MechaClient, RunHandle, RunOptions, StartOptions } from "../createClient";
import { isMechaError } from "../errors/isMechaError";
import type { MechaError } from "../errors/MechaError";
import { UnavailableError } from "../errors/UnavailableError";
import { canFallBack } from "../planBackends";
import { abortError } from "../timers";
import { openServerSession } from "./serverSession";

/**
 * How to open a session: `language` (default `"python"`), `limits` of each run, `files` written
 * before the first run, `idleTimeoutMs` (clamped to the server's maximum), and `signal`.
 * @example { limits: { timeoutMs: 10_000 }, files: [{ path: "data.csv", content: csv }] }
 */
export interface SessionOptions extends Partial<CreateSessionRequest> {
  /**
   * Aborting it gives up on opening the session.
   * @default undefined
   */
  signal?: AbortSignal;
}

/** What a run in a session may add to its code: stdin, files, limits and files to send back. */
export type SessionRunFields = Omit<SessionRunRequest, "code">;

/**
 * State kept between runs: variables, imports, the working directory and its files, as in a
 * notebook whose cells are runs. A final expression's value arrives as a `display`. One run at
 * a time: a second while one runs is refused (`session_busy`).
 */
export interface Session {
  /** The session's id on its backend. */
  readonly id: string;
  /** Where the session lives, for its whole life: its runs never fall back elsewhere. */
  readonly backend: BackendKind;
  /** When the session ends if left idle (ISO 8601), or null where it never expires by itself. */
  readonly expiresAt: string | null;
  /**
   * Runs code in the session to its end; settles like `client.run()`.
   * @example
   * await session.run("import pandas as pd\ndf = pd.read_csv('data.csv')");
   * const { displays } = await session.run("df.describe()");
   */
  run(code: string, options?: RunOptions & SessionRunFields): Promise<ClientRunResult>;
  /** Starts an interactive run in the session, like `client.start()`. */
  start(code: string, options?: StartOptions & SessionRunFields): RunHandle;
  readonly files: {
    /**
     * The bytes of a file in the session's working directory, e.g. one a run wrote.
     * @example new TextDecoder().decode(await session.files.get("out/result.csv"))
     */
    get(path: string, options?: { signal?: AbortSignal }): Promise<Uint8Array>;
  };
  /** Ends the session and frees its interpreter; closing one already gone is not an error. */
  close(): Promise<void>;
}

function split<T extends object>(
  options: (T & SessionRunFields) | undefined,
): [SessionRunFields, T] {
  const { stdin, files, limits, returnFiles, ...rest } = options ?? ({} as T & SessionRunFields);
  return [{ stdin, files, limits, returnFiles }, rest as T];
}

function wrap(host: ClientInternals, kind: BackendKind, opened: BackendSession): Session {
  const backend: Backend = {
    // The session's language is the one it was opened with; a session run names none.
    start: ({ language: _language, args: _args, ...run }, options) => opened.start(run, options),
  };
  const launch = (
    code: string,
    fields: SessionRunFields,
    options: RunOptions,
    interactive: boolean,
  ) =>
    host.launch(
      { language: "python", code, ...fields },
      options.signal,
      interactive,
      options.onEvent,
      { kind, backend },
    );
  return {
    id: opened.id,
    backend: kind,
    expiresAt: opened.expiresAt,
    run(code, options) {
      const [fields, runOptions] = split<RunOptions>(options);
      return launch(code, fields, runOptions, false).result;
    },
    start(code, options) {
      const [fields, startOptions] = split<StartOptions>(options);
      return launch(code, fields, startOptions, true);
    },
    files: { get: (path, options) => opened.readFile(path, options?.signal) },
    close: () => opened.close(),
  };
}

let mockSessions = 0;

/** The mock's session: each run simulated on its own, as the mock does (it keeps nothing). */
function mockSession(mock: Backend, language: CreateSessionRequest["language"]): BackendSession {
  return {
    id: `mock_session_${++mockSessions}`,
    expiresAt: null,
    start: (run, options) => mock.start({ language, ...run }, options),
    readFile: async (path) => {
      throw new UnavailableError(
        `The mock backend runs nothing, so its session has no file ${JSON.stringify(path)}.`,
      );
    },
    close: async () => {},
  };
}

/**
 * Opens a session: an interpreter whose runs share variables, imports and files (see
 * {@link Session}). It goes where a run would: the server while it answers, else the client's
 * fallbacks — `browser` keeps state in its worker; the mock simulates each run on its own.
 *
 * @example
 * import { createSession } from "@mecha/client/session";
 * const session = await createSession(client);
 * await session.run("x = 41");
 * (await session.run("x + 1")).displays; // [{ data: { "text/plain": "42" } }]
 * await session.close();
 */
export async function createSession(
  client: MechaClient,
  options: SessionOptions = {},
): Promise<Session> {
  const host = (client as { [CLIENT_INTERNALS]?: ClientInternals })[CLIENT_INTERNALS];
  if (!host) {
    throw new TypeError(
      "createSession needs a client made by createClient() of @mecha/client; this one cannot open sessions.",
    );
  }
  const { signal, ...fields } = options;
  const request: CreateSessionRequest = { language: "python", ...fields };
  const failures: MechaError[] = [];
  for (const kind of host.plan()) {
    if (signal?.aborted) throw abortError(signal, "Opening the session");
    try {
      const backend = await host.backendFor(kind);
      const opened =
        kind === "server"
          ? await openServerSession(host.server, request, signal)
          : kind === "mock"
            ? mockSession(backend, request.language)
            : await backend.createSession?.(request, signal ?? new AbortController().signal);
      if (opened) return wrap(host, kind, opened);
    } catch (error) {
      if (!isMechaError(error) || !canFallBack(error)) throw error;
      failures.push(error);
    }
  }
  throw failures[0] ?? new UnavailableError("No backend of this client can hold a session.");
}
