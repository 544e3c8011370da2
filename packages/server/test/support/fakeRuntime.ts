import type { RunJob, RunningProgram, RunOutcome, RunSink, Runtime } from "../../src/runtime/types";

/** A program the test drives: what it printed, its stdin, and how to end it. */
export interface FakeProgram {
  job: RunJob;
  sink: RunSink;
  stdin: { data: string; eof: boolean }[];
  cancelled: boolean;
  end(outcome?: Partial<RunOutcome>): void;
  /** Settles with how it ended (by the test, or cancelled by the server). */
  ended: Promise<RunOutcome>;
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

/**
 * A runtime whose programs are driven by the test (no Python): it learns of each start through
 * `started()` and says when and how each ends. For the HTTP layer's behaviour, synchronised on
 * events rather than on time.
 */
export function fakeRuntime(
  options: { packages?: { name: string; version: string }[]; features?: string[] } = {},
) {
  const programs: FakeProgram[] = [];
  const waiting: ((program: FakeProgram) => void)[] = [];
  const runtime: Runtime = {
    info: async () => ({ language: "python", version: "3.11.2", isolation: "sandbox" }),
    packages: async () => options.packages ?? [],
    ...(options.features ? { features: options.features } : {}),
    start(job, sink): RunningProgram {
      let resolve!: (outcome: RunOutcome) => void;
      const done = new Promise<RunOutcome>((settle) => {
        resolve = settle;
      });
      let stdout = "";
      let stderr = "";
      const program: FakeProgram = {
        job,
        stdin: [],
        cancelled: false,
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
        end: (outcome = {}) => resolve({ ...OUTCOME, stdout, stderr, ...outcome }),
        ended: done,
      };
      programs.push(program);
      waiting.shift()?.(program);
      return {
        writeStdin: (data, eof) => program.stdin.push({ data, eof }),
        stdinBuffered: 0,
        cancel() {
          program.cancelled = true;
          program.end({ status: "cancelled", exitCode: null, signal: "SIGKILL" });
        },
        done,
      };
    },
    close: async () => {},
  };
  /** The next program to start: ask before the request that starts it. */
  const started = (): Promise<FakeProgram> => new Promise((resolve) => waiting.push(resolve));
  return { runtime, programs, started };
}
