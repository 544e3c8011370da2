import { constants } from "node:os";

/** Where Linux gives a signal two names, the one Python's `signal.Signals` (and POSIX) uses. */
const PREFERRED: Record<string, string> = {
  SIGIOT: "SIGABRT",
  SIGCLD: "SIGCHLD",
  SIGPOLL: "SIGIO",
  SIGUNUSED: "SIGSYS",
};

const NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) {
  const standard = PREFERRED[name] ?? name;
  if (!NAMES.has(number) || standard === name) NAMES.set(number, standard);
}

/** A signal's standard name ("SIGABRT", never "SIGIOT"), or `SIG<n>` for one without a name. */
export function signalName(number: number): string {
  return NAMES.get(number) ?? `SIG${number}`;
}

/** The standard name of a signal Node reports by name (its aliases mapped). */
export function standardSignal(name: string): string {
  return PREFERRED[name] ?? name;
}

/** A wait(2) status as an exit code or a signal's standard name. */
export function decodeWaitStatus(status: number): { code: number | null; signal: string | null } {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: signalName(signal) };
}
