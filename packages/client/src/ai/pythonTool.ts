import type { RunError, RunLimits } from "@mecha/protocol";
import { type Tool, tool } from "ai";
import * as z from "zod/mini";
import type { BackendKind, ClientRunResult } from "../backend";
import type { MechaClient } from "../createClient";
import { isMechaError } from "../errors/isMechaError";
import { createSession, type Session } from "../session/createSession";
import { toModelText } from "./toModelText";

/**
 * What the model passes: the code, and (with sessions) which session to run it in; null or ""
 * is taken as left out.
 */
export interface PythonToolInput {
  code: string;
  sessionId?: string | null | undefined;
}

/** An image the program showed (a plot, a picture), base64-encoded. */
export interface PythonToolImage {
  mediaType: string;
  data: string;
}

/** What a call gives back: JSON, for the model and for a UI that shows the call. */
export interface PythonToolOutput {
  /** `succeeded`, `failed`, `timed_out`, …, as the run ended. */
  status: string;
  stdout: string;
  stderr: string;
  /** The uncaught exception, with `line` in the model's code and the traceback. */
  error?: RunError | undefined;
  /** Displays with `image/png` or `image/jpeg`, in order. */
  images: PythonToolImage[];
  /** The `text/plain` of the other displays (a value, a table), in order. */
  displays: string[];
  /** Output was cut at the run's output limit. */
  truncated: boolean;
  /** Where it ran: `server`, `browser`, or `mock` (simulated: nothing ran). */
  backend: BackendKind;
  /** The session it ran in, when the tool keeps one. */
  sessionId?: string | undefined;
}

export interface PythonToolOptions {
  /** The client that runs the code (its fallbacks, retries and auth apply). */
  client: MechaClient;
  /**
   * Keep state between calls (variables, imports, files), as a notebook does: `true` opens a
   * session on the first call and runs every later call in it (the model may also name it by
   * the `sessionId` it got back), reopening one if it was lost; or a session of your own. Without
   * it, every call is a fresh program.
   * @default false
   * @example pythonTool({ client, session: true })
   */
  session?: boolean | Session;
  /**
   * Limits of each run, within the server's maxima.
   * @default the server's defaults
   * @example { timeoutMs: 10_000 }
   */
  limits?: RunLimits;
  /**
   * Sends the images a program showed to the model as images (for models that take them in tool
   * results); `false` lists them in the text only.
   * @default true
   */
  images?: boolean;
  /**
   * The most characters of stdout and of stderr the model is sent (the rest is cut in the
   * middle, and said so); the tool's output itself keeps everything.
   * @default 20000
   */
  maxOutputChars?: number;
  /**
   * What the model is told the tool does.
   * @default a description of the sandbox: Python 3, no network, state kept or not
   */
  description?: string;
}

const IMAGE_TYPES = ["image/png", "image/jpeg"];

function toOutput(result: ClientRunResult, sessionId: string | undefined): PythonToolOutput {
  const images: PythonToolImage[] = [];
  const displays: string[] = [];
  for (const { data } of result.displays ?? []) {
    const type = IMAGE_TYPES.find((candidate) => data[candidate] !== undefined);
    if (type) images.push({ mediaType: type, data: data[type]! });
    else displays.push(data["text/plain"]);
  }
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ...(result.error ? { error: result.error } : {}),
    images,
    displays,
    truncated: result.truncated,
    backend: result.backend,
    ...(sessionId === undefined ? {} : { sessionId }),
  };
}

function describeTool(sessions: boolean): string {
  return [
    "Runs Python 3 code in a sandbox and returns its stdout, stderr, the error with its traceback",
    "if it failed, and the images it showed (matplotlib figures appear by themselves). There is",
    "no network and nothing can be installed with pip.",
    sessions
      ? "Calls share state like notebook cells: variables, imports and files stay, and the value of a final expression is shown."
      : "Every call is a fresh program: print what you need to see.",
  ].join(" ");
}

/**
 * A ready tool for the Vercel AI SDK (`ai` 6): the model sends Python, the tool runs it with the
 * Mecha client, and the model gets back stdout, stderr, the error with its line and traceback,
 * and the images the program showed (as images, for models that take them in tool results).
 * A program that fails is a result the model can read and fix; only a client that cannot run
 * code at all makes the call fail.
 *
 * @example
 * import { generateText, stepCountIs } from "ai";
 * import { pythonTool } from "@mecha/client/ai";
 *
 * const { text } = await generateText({
 *   model,
 *   tools: { python: pythonTool({ client, session: true }) },
 *   stopWhen: stepCountIs(8),
 *   prompt: "What is the 20th Fibonacci number? Check it with Python.",
 * });
 */
export function pythonTool(options: PythonToolOptions): Tool<PythonToolInput, PythonToolOutput> {
  const { client, limits } = options;
  const keep = options.session !== undefined && options.session !== false;
  const own = typeof options.session === "object" ? options.session : undefined;
  const sessions = new Map<string, Session>(own ? [[own.id, own]] : []);
  let current: Promise<Session> | undefined = own && Promise.resolve(own);
  /** The last call in a session: the next waits for it (a model may send several at once). */
  let tail: Promise<unknown> = Promise.resolve();

  /** Runs `call` once the calls before it have ended, unless it was aborted while it waited. */
  function inTurn<T>(call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const turn = tail.then(() => {
      signal?.throwIfAborted();
      return call();
    });
    tail = turn.catch(() => {});
    return turn;
  }

  async function sessionFor(id: string | undefined): Promise<Session> {
    if (id !== undefined) {
      const named = sessions.get(id);
      if (named) return named;
      throw new Error(
        `There is no session ${JSON.stringify(id)}: leave sessionId out to run in this conversation's session.`,
      );
    }
    current ??= createSession(client, limits ? { limits } : {}).then((opened) => {
      sessions.set(opened.id, opened);
      return opened;
    });
    return current.catch((error: unknown) => {
      current = undefined;
      throw error;
    });
  }

  const inputSchema = z.object({
    code: z.string().check(z.describe("The complete Python 3 program (or cell) to run.")),
    ...(keep
      ? {
          // Models often send null (or "") for an optional field they mean to leave out.
          sessionId: z.optional(
            z.nullable(
              z
                .string()
                .check(
                  z.describe(
                    "The session to run in, as a previous call returned it. Usually left out.",
                  ),
                ),
            ),
          ),
        }
      : {}),
  }) as unknown as z.ZodMiniType<PythonToolInput>;

  return tool<PythonToolInput, PythonToolOutput>({
    description: options.description ?? describeTool(keep),
    inputSchema,
    async execute({ code, sessionId: given }, { abortSignal }) {
      const sessionId = given || undefined;
      const run = { signal: abortSignal, ...(limits ? { limits } : {}) };
      if (!keep) return toOutput(await client.run({ language: "python", code, ...run }), undefined);
      // A session runs one program at a time: calls sent together run in turn, in order.
      return inTurn(async () => {
        let session = await sessionFor(sessionId);
        try {
          return toOutput(await session.run(code, run), session.id);
        } catch (error) {
          // The session died (its memory, its runner): open a new one and say so in the output.
          if (!isMechaError(error, "session_lost") || sessionId !== undefined || own) throw error;
          sessions.delete(session.id);
          current = undefined;
          session = await sessionFor(undefined);
          const output = toOutput(await session.run(code, run), session.id);
          const note = "[the previous session was lost with its state; this ran in a new one]\n";
          return { ...output, stderr: note + output.stderr };
        }
      }, abortSignal);
    },
    toModelOutput: ({ output }) => toModelText(output, options),
  });
}
