import { readFileSync, writeFileSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { withInheritedClosed } from "../inheritedDescriptors";
import { bwrapArgs, SANDBOX_BOOTSTRAP_DIR, SANDBOX_FDS } from "../sandbox";
import type { SandboxedZygoteConfig, ZygoteDescriptors, ZygoteStart } from "./zygoteStart";

const USERNS_BLOCK_FD = 7;

/** The host pid of a child of `parent` whose pid in the zygote's pid namespace is `nsPid`. */
function hostPidOf(parent: number, nsPid: number): number | null {
  let children: string;
  try {
    children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8");
  } catch {
    return null;
  }
  const candidates = children.trim().split(/\s+/).filter(Boolean).map(Number).reverse();
  for (const pid of candidates) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const match = /\nNSpid:\s+(\d+)\s+(\d+)/.exec(status);
      if (match && Number(match[2]) === nsPid) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * The zygote's uid (and gid) map when the server is root: 0 is the zygote's own host uid, and
 * k >= 1 is host uid `start + k - 1`, for every uid of the range but the zygote's.
 */
export function idMap(zygote: number, range: { start: number; size: number }): string {
  const lines = [`0 ${zygote} 1`];
  const end = range.start + range.size;
  if (zygote < range.start || zygote >= end) {
    lines.push(`1 ${range.start} ${range.size}`);
  } else {
    if (zygote > range.start) lines.push(`1 ${range.start} ${zygote - range.start}`);
    if (zygote + 1 < end)
      lines.push(`${zygote - range.start + 2} ${zygote + 1} ${end - zygote - 1}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Starts a zygote in bubblewrap. `failed` is told why, and the zygote killed, when its user
 * namespace cannot be mapped.
 */
export function startSandboxed(
  config: SandboxedZygoteConfig,
  fds: ZygoteDescriptors,
  failed: (why: string) => void,
): ZygoteStart {
  const args = [
    ...bwrapArgs(
      {
        pythonPrefix: config.pythonPrefix,
        bootstrapDir: config.bootstrapDir,
        etcDir: config.etcDir,
        binds: config.binds,
      },
      { diskBytes: 1 << 20 },
      config.env,
      { seccomp: false, block: false, zygote: true },
    ),
    // bubblewrap waits for the server to write the user namespace's uid and gid maps.
    ...(config.runUids ? ["--userns-block-fd", String(USERNS_BLOCK_FD)] : []),
    // Root of its own user namespace (mapped to the unprivileged host uid), so that bubblewrap
    // makes one user namespace only, the one owning the zygote's pid namespace: the zygote
    // may then fork each run into a pid namespace of its own. Runs are uid 1000 in theirs.
    "--uid",
    "0",
    "--gid",
    "0",
    "--",
    config.python,
    // Not -E: the environment is allow-listed already, and a program's own PYTHON* settings
    // (PYTHONBREAKPOINT, say) must work as under CPython. Not -s: HOME is the run's own
    // working directory, so its user site is the program's own, as under CPython
    // (sys.flags.no_user_site is 0). -u: output as it is written.
    "-u",
    `${SANDBOX_BOOTSTRAP_DIR}/zygote.py`,
  ];
  const child = config.spawn(config.bwrap, args, {
    cwd: "/",
    env: {},
    // Pipes on 0-2 like every run's: the interpreter's stdio objects, created once here,
    // learn what their descriptors are (not seekable, not a tty) at start-up.
    stdio: withInheritedClosed<"pipe" | "ignore">([
      "pipe",
      "pipe",
      "pipe",
      "pipe",
      "pipe",
      fds.seccomp ?? "ignore",
      "pipe",
      config.runUids ? "pipe" : "ignore",
      ...fds.cgroupParents,
    ]),
    detached: true,
    ...(config.uid !== null ? { uid: config.uid, gid: config.uid } : {}),
  });
  const streams = child.stdio as unknown as (Readable & Writable)[];
  const info = streams[SANDBOX_FDS.info] as Readable;
  info.on("error", () => {});
  const hostPid = new Promise<number | null>((resolve) => {
    let text: string | null = "";
    info.setEncoding("utf8");
    info.on("data", (chunk: string) => {
      if (text === null) return;
      text += chunk;
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (!match) return;
      text = null;
      const pid = Number(match[1]);
      if (config.runUids && config.uid !== null) {
        try {
          const map = idMap(config.uid, config.runUids);
          writeFileSync(`/proc/${pid}/uid_map`, map);
          writeFileSync(`/proc/${pid}/gid_map`, map);
        } catch (cause) {
          failed(`could not map the zygote's user namespace: ${String(cause)}`);
          return;
        }
        (streams[USERNS_BLOCK_FD] as Writable).end("1");
      }
      resolve(pid);
    });
    info.on("close", () => resolve(null));
  });
  return { child, hostPid, hostPidOf };
}
