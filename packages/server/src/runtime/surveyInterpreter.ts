import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { RuntimePackage } from "@mecha/protocol";
import { type Environment, runNetwork } from "./environment";
import type { Launcher } from "./launcher";
import type { RuntimeSettings } from "./options";
import { SURVEY_SCRIPT } from "./pythonFiles";
import { RunExecution } from "./runExecution";
import type { Limits, RunOutcome } from "./types";

/** Runs one program of the server's own through a launcher, as a run (see `probe`, `survey`). */
export async function runThrough(
  launcher: Launcher,
  env: Environment,
  settings: RuntimeSettings,
  program: { name: string; code: string; args?: string[]; limits: Limits },
): Promise<RunOutcome> {
  const execution = new RunExecution(
    {
      id: `${program.name}-${Math.random().toString(36).slice(2, 10)}`,
      code: program.code,
      files: [],
      args: program.args ?? [],
      stdin: "",
      interactive: false,
      limits: program.limits,
    },
    { stdout() {}, stderr() {}, input() {}, display() {} },
    {
      settings,
      acquire: async () => ({
        prepared: await launcher.prepare(),
        shares: env.shares,
        network: runNetwork(env),
      }),
      finished() {},
    },
  );
  const outcome = await execution.done;
  await execution.settled;
  return outcome;
}

/** What the survey found (see python/mecha_survey.py). */
export interface Survey {
  packages: RuntimePackage[];
  /** matplotlib's font cache was built and is in the bootstrap's directory. */
  matplotlib: boolean;
}

interface Report {
  packages: RuntimePackage[];
  fonts: { name: string; text: string } | null;
  preload: Record<string, string | null>;
}

function parseReport(stdout: string): Report | null {
  let value: Partial<Report>;
  try {
    value = JSON.parse(stdout);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || !Array.isArray(value.packages)) return null;
  const packages = value.packages.filter(
    (entry): entry is RuntimePackage =>
      typeof entry?.name === "string" && typeof entry?.version === "string",
  );
  const fonts = value.fonts;
  const validFonts =
    fonts && typeof fonts.name === "string" && typeof fonts.text === "string" ? fonts : null;
  return { packages, fonts: validFonts, preload: value.preload ?? {} };
}

/**
 * Asks the interpreter, as runs see it, what it can import, builds matplotlib's font cache into
 * the bootstrap's directory (where each run finds it) and checks the modules to preload. Rejects
 * when a module to preload does not import, naming it; resolves to null when the survey could
 * not run at all (`problem` says why), which is the sandbox's problem, not the interpreter's.
 */
export async function surveyInterpreter(
  launcher: Launcher,
  env: Environment,
  settings: RuntimeSettings,
): Promise<{ survey: Survey } | { problem: string }> {
  const outcome = await runThrough(launcher, env, settings, {
    name: "survey",
    code: SURVEY_SCRIPT,
    args: [settings.preload.join(",")],
    limits: { timeoutMs: 60_000, memoryMb: 2048, outputBytes: 64 << 20 },
  });
  const report = outcome.status === "succeeded" ? parseReport(outcome.stdout) : null;
  if (!report) {
    return {
      problem: (outcome.stderr || outcome.stdout || `exit ${outcome.exitCode}`).trim().slice(-500),
    };
  }
  const failed = settings.preload
    .map((name) => [name, report.preload[name]] as const)
    .filter(([, problem]) => problem !== null);
  if (failed.length > 0) {
    const reasons = failed.map(([name, problem]) => `${name} (${problem ?? "not checked"})`);
    throw new Error(
      `Mecha: cannot preload ${reasons.join("; ")} with ${env.interpreter.executable}. ` +
        "Install what is missing into that Python, or leave it out of --preload.",
    );
  }
  let matplotlib = false;
  if (report.fonts && /^fontlist-v\w+\.json$/.test(report.fonts.name)) {
    const dir = join(env.bootstrapDir, "matplotlib");
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await writeFile(join(dir, basename(report.fonts.name)), report.fonts.text, { mode: 0o644 });
    matplotlib = true;
  }
  return { survey: { packages: report.packages, matplotlib } };
}
