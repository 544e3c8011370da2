import { join } from "node:path";
import { withInheritedClosed } from "../inheritedDescriptors";
import type { PlainZygoteConfig, ZygoteDescriptors, ZygoteStart } from "./zygoteStart";

/**
 * Starts a zygote without namespaces (python/mecha_plain_runs.py) as the server's own user: as
 * root it gives each run a uid of its own from `runUids`. Its runs' pids are the host's.
 */
export function startPlain(config: PlainZygoteConfig, fds: ZygoteDescriptors): ZygoteStart {
  const uids = config.runUids;
  const child = config.spawn(
    config.python,
    [
      // As in the sandbox (see startSandboxed): not -E, not -s, -u.
      "-u",
      join(config.bootstrapDir, "zygote.py"),
      "--plain",
      config.runsDir,
      uids ? String(uids.start) : "-",
      uids ? String(uids.size) : "-",
    ],
    {
      cwd: config.runsDir,
      env: config.env,
      // The same descriptors as a sandboxed zygote's, but bubblewrap's (6 and 7).
      stdio: withInheritedClosed<"pipe" | "ignore">([
        "pipe",
        "pipe",
        "pipe",
        "pipe",
        "pipe",
        fds.seccomp ?? "ignore",
        "ignore",
        "ignore",
        ...fds.cgroupParents,
      ]),
      detached: true,
    },
  );
  // Known at once when the process started (a failed start emits "error", and so "exit").
  return { child, hostPid: Promise.resolve(child.pid ?? null), hostPidOf: (_zygote, pid) => pid };
}
