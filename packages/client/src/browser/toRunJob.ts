import type { RunRequest } from "@mecha/protocol";
import type { RunJob } from "./workerProtocol";

/** Limits of a run in the browser. Memory cannot be capped there, so it has none. */
export interface BrowserLimits {
  /** Wall-clock limit in milliseconds, from the moment the program starts. */
  timeoutMs: number;
  /** Cap on stdout and stderr together, in bytes; reaching it ends the run. */
  outputBytes: number;
}

/** The server's defaults, so a program gets the same limits wherever it runs. */
export const DEFAULT_LIMITS: BrowserLimits = { timeoutMs: 10_000, outputBytes: 1 << 20 };
export const MAX_LIMITS: BrowserLimits = { timeoutMs: 60_000, outputBytes: 10 << 20 };

/** The plain end-of-file message, as CPython words it. */
export const EOF_MESSAGE = "EOF when reading a line";

/** Why `input()` found nothing when the page could not wait for the user. */
export const NOT_ISOLATED_EOF_MESSAGE =
  "EOF when reading a line: this program ran in your browser, which can only wait for input() when the page is cross-origin isolated (served with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp). Give the input up front as stdin instead.";

/** A request's limits: its own where it sets them, else the defaults, never above the maxima. */
export function resolveLimits(
  requested: RunRequest["limits"],
  defaults: BrowserLimits = DEFAULT_LIMITS,
  max: BrowserLimits = MAX_LIMITS,
): BrowserLimits {
  return {
    timeoutMs: Math.min(requested?.timeoutMs ?? defaults.timeoutMs, max.timeoutMs),
    outputBytes: Math.min(requested?.outputBytes ?? defaults.outputBytes, max.outputBytes),
  };
}

export interface JobContext {
  id: string;
  /** `client.start()`: stdin stays open and `input()` prompts are reported. */
  interactive: boolean;
  /** The page is cross-origin isolated, so the worker can block until input arrives. */
  isolated: boolean;
  /** Text sent with `sendStdin` before the program started. */
  queuedStdin: string;
  limits: BrowserLimits;
  autoLoadPackages: boolean;
  /** The session the run belongs to, if any. */
  session?: string | undefined;
}

/**
 * What the worker runs for a request. Stdin follows the server: given up front, it is
 * written and closed; for an interactive run without it, `input()` waits for `sendStdin` —
 * which the worker can only do when the page is cross-origin isolated. Otherwise the text sent
 * before the start is all there is, and running out says why.
 */
export function toRunJob(request: RunRequest, context: JobContext): RunJob {
  const waitForInput = context.interactive && request.stdin === undefined;
  const canWait = waitForInput && context.isolated;
  return {
    id: context.id,
    code: request.code,
    files: request.files ?? [],
    args: request.args ?? [],
    stdin: request.stdin ?? (waitForInput && !canWait ? context.queuedStdin : ""),
    stdinMode: canWait ? "wait" : "closed",
    notify: canWait,
    eofMessage: waitForInput && !canWait ? NOT_ISOLATED_EOF_MESSAGE : EOF_MESSAGE,
    outputBytes: context.limits.outputBytes,
    autoLoadPackages: context.autoLoadPackages,
    ...(context.session ? { session: context.session } : {}),
  };
}
