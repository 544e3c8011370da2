import type { RunRequest } from "@mecha/protocol";
import { HttpError } from "../httpError";
import { resolveLimits } from "../options";
import type { Limits, RunJob } from "../runtime/types";
import type { HandlerContext } from "./context";
import { utf8Length } from "./respond";

function newId(): string {
  return `run_${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
}

/** 413 `payload_too_large` for code over `maxCodeBytes`. */
export function checkCodeSize({ opts }: HandlerContext, code: string): void {
  if (utf8Length(code) > opts.maxCodeBytes) {
    throw new HttpError(
      "payload_too_large",
      `The code is over the ${opts.maxCodeBytes}-byte limit.`,
    );
  }
}

/** A validated request as a job for the runtime: sizes checked, limits resolved. */
export function toJob(
  context: HandlerContext,
  body: Omit<RunRequest, "language" | "args"> & { args?: string[] },
  interactive: boolean,
  /** The limits a run gets unless it asks for others (a session's). */
  defaults: Limits = context.opts.defaultLimits,
): RunJob {
  const { opts } = context;
  checkCodeSize(context, body.code);
  return {
    id: newId(),
    code: body.code,
    files: body.files ?? [],
    args: body.args ?? [],
    stdin: body.stdin ?? "",
    // A streaming request keeps stdin open unless the request gave it up front.
    interactive: interactive && body.stdin === undefined,
    returnFiles: body.returnFiles ?? [],
    limits: resolveLimits(body.limits, defaults, opts.maxLimits),
  };
}
