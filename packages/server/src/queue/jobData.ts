import { Limits, RunFile } from "@mecha/protocol";
import * as z from "zod/mini";
import type { RunJob } from "../runtime/types";

/**
 * The version of the job format API instances put in the queue; a runner refuses (fails the run,
 * saying why) a job of any other. Raise it whenever `RunJob` changes in a way an older runner
 * would misread.
 */
export const JOB_FORMAT = 2;

const Job = z.object({
  id: z.string(),
  code: z.string(),
  files: z.array(RunFile),
  args: z.array(z.string()),
  stdin: z.string(),
  interactive: z.boolean(),
  returnFiles: z.optional(z.array(z.string())),
  limits: Limits,
  sessionId: z.optional(z.string()),
});

const JobData = z.object({ format: z.literal(JOB_FORMAT), job: Job });

// A field added to `RunJob` and not read here would be dropped on its way to a runner: the
// build fails until it is added above (and JOB_FORMAT raised if older runners would misread).
type Fields<T> = keyof T;
type SameFields = [Fields<RunJob>] extends [Fields<z.infer<typeof Job>>]
  ? [Fields<z.infer<typeof Job>>] extends [Fields<RunJob>]
    ? true
    : false
  : false;
const sameFields: SameFields = true;
void sameFields;

/** What an API instance enqueues for a run. */
export function jobData(job: RunJob): { format: number; job: RunJob } {
  return { format: JOB_FORMAT, job };
}

/** Reads a job from the queue: the job, or why this runner cannot run it. */
export function readJobData(data: unknown): { job: RunJob } | { error: string } {
  const parsed = JobData.safeParse(data);
  if (parsed.success) return { job: parsed.data.job as RunJob };
  const format = (data as { format?: unknown } | null)?.format;
  if (format !== JOB_FORMAT) {
    return {
      error: `This runner reads jobs of format ${JOB_FORMAT}, and this one is of format ${JSON.stringify(format ?? null)}: the API instance that accepted it and this runner run different versions of mecha-server. Upgrade them together.`,
    };
  }
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(job)"}: ${issue.message}`)
    .join("; ");
  return {
    error: `This runner cannot read the run's job (${issues}): the API instance that accepted it and this runner may run different versions of mecha-server.`,
  };
}
