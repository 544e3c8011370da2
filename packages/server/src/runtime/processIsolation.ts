/** What holds for a run without the sandbox here (see docs/security.md, layer 1). */
export interface ProcessIsolation {
  /** Runs fork from a preloaded interpreter (else each starts a fresh one). */
  forked: boolean;
  /** Each run has a uid of its own (the server is root). */
  ownUid: boolean;
  cgroups: boolean;
  seccomp: boolean;
}

/**
 * The start-up warning for runs without the sandbox: what contains them and what they can still
 * reach, exactly. `why` says why there is no sandbox when one was wanted (`sandbox: "auto"`);
 * null when the operator chose `sandbox: "none"`.
 */
export function processIsolationWarning(why: string | null, layers: ProcessIsolation): string {
  const own = ["process group", "working directory", ...(layers.ownUid ? ["uid"] : [])];
  const also = [
    "rlimits",
    ...(layers.cgroups ? ["cgroups (memory, processes)"] : []),
    ...(layers.seccomp ? ["a seccomp filter"] : []),
    "an allow-listed environment",
  ];
  const list = (items: string[]) =>
    items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
  const start = layers.forked ? "forked from a preloaded interpreter" : "a fresh interpreter";
  const reach = layers.ownUid
    ? "it can still reach the network, read every world-readable file and see every process on this host"
    : "it can still reach the network, read every world-readable file and see every process on this host, " +
      "and, running as the server's own user, read the server's environment and signal the server and other runs";
  const head = why
    ? `Mecha: WARNING: ${why}; running programs with process isolation only`
    : "Mecha: WARNING: no sandbox (sandbox: none)";
  return (
    `${head}. Each run is ${start} with a ${list(own)} of its own, ${list(also)}; ${reach}` +
    // What leaves the process group is ended through the run's cgroup, else through its uid.
    `${layers.cgroups || layers.ownUid ? "" : "; a process that calls setsid() leaves its run's process group and outlives it"}` +
    ". Do not run untrusted code like this."
  );
}

/**
 * The start-up warning on Windows, where bubblewrap cannot run: what a run does get there (see
 * docs/platforms.md).
 */
export function windowsIsolationWarning(why: string | null): string {
  const head = why
    ? `Mecha: WARNING: ${why}; running programs with process isolation only`
    : "Mecha: WARNING: no sandbox (sandbox: none)";
  return (
    `${head}. Each run is in a Windows job object (its memory and process limits, its whole ` +
    "process tree ended with it), with a time limit and an allow-listed environment; no limit " +
    "on file sizes or open files, and it can reach the network and every file the server's " +
    "user can. Do not run untrusted code like this."
  );
}

/**
 * On macOS, forking an interpreter that has started threads of Apple's frameworks (numpy linked
 * with Accelerate, anything on CoreFoundation) may crash or hang the child: what a zygote that
 * preloads packages there says at start-up (null where it has nothing to say).
 */
export function forkedPreloadWarning(
  platform: NodeJS.Platform,
  forked: boolean,
  preload: readonly string[],
): string | null {
  if (platform !== "darwin" || !forked || preload.length === 0) return null;
  return (
    `Mecha: WARNING: on macOS, runs forked from an interpreter that preloaded ${preload.join(", ")} ` +
    "may crash or hang where those packages started threads (numpy with Accelerate, anything on " +
    "CoreFoundation); if runs fail so, drop the preload or use --startup spawn."
  );
}
