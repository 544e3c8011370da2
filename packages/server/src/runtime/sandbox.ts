import { execFile } from "node:child_process";
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where the run's program lives inside the sandbox. */
export const SANDBOX_WORKDIR = "/workspace";
/** Where the bootstrap is mounted inside the sandbox. */
export const SANDBOX_BOOTSTRAP_DIR = "/opt/mecha";

export interface SandboxPaths {
  /** Interpreter installation prefix (sys.base_prefix) to mount read-only. */
  pythonPrefix: string;
  bootstrapDir: string;
  /** A directory of the server's with the sandbox's own /etc files (see `writeSandboxEtc`). */
  etcDir: string;
  /** More read-only binds, source and target (what an interpreter's packages need). */
  binds?: readonly (readonly [string, string])[];
}

export interface SandboxLimits {
  /** Size of the /tmp tmpfs and of the working directory tmpfs, each, in bytes. */
  diskBytes: number;
}

/** Directories of the sandbox's root made before anything is bound below them. */
const MADE_DIRS = ["/etc", "/etc/ssl", "/opt"];

/** The fds bubblewrap reads and writes, numbered as the spawn passes them. */
export const SANDBOX_FDS = { seccomp: 5, info: 6, block: 7 } as const;

/** The host's system directories, bound read-only into every sandbox. */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/**
 * What a run may not read of the host's /proc: the kernel's command line (which may carry boot
 * secrets) and its build configuration. An empty file is mounted over each.
 */
export const HIDDEN_PROC_FILES = ["/proc/cmdline", "/proc/config.gz"];

const HOST_ETC_FILES = [
  "/etc/ld.so.cache",
  "/etc/localtime",
  "/etc/alternatives",
  "/etc/ssl/certs",
  // Public databases the standard library reads: service and protocol names (socket), MIME
  // types (mimetypes). Nothing in them is the host's secret.
  "/etc/services",
  "/etc/protocols",
  "/etc/mime.types",
  // What packages read to import: Debian's matplotlib keeps its matplotlibrc here.
  "/etc/matplotlibrc",
];

/** Whether `path` is `dir` or below it. */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/**
 * The interpreter's own configuration in /etc (Debian: /usr/lib/python3.X/sitecustomize.py is a
 * link to /etc/python3.X/sitecustomize.py), bound read-only as the interpreter's files are.
 */
export function interpreterEtc(version: string): (readonly [string, string])[] {
  const [major, minor] = version.split(".");
  return [`/etc/python${major}.${minor}`, `/etc/python${major}`]
    .filter((dir) => existsSync(dir))
    .map((dir) => [dir, dir] as const);
}

/** Read-only binds of the system: merged-/usr symlinks are recreated as symlinks. */
function systemArgs(): string[] {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue;
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else args.push("--ro-bind", dir, dir);
  }
  for (const file of HOST_ETC_FILES) if (existsSync(file)) args.push("--ro-bind", file, file);
  return args;
}

/**
 * Read-only binds outside the system directories, each at its own path, with the directories
 * above it made 0755: a zygote's runs have host uids other than the zygote's, and must be able
 * to enter them (bubblewrap would make them 0700).
 */
function bindArgs(binds: readonly (readonly [string, string])[], made: Set<string>): string[] {
  const args: string[] = [];
  for (const [source, target] of binds) {
    const parts = target.split("/").filter(Boolean);
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = `/${parts.slice(0, depth).join("/")}`;
      if (made.has(dir) || SYSTEM_DIRS.some((system) => isWithin(dir, system))) continue;
      made.add(dir);
      args.push("--perms", "0755", "--dir", dir);
    }
    args.push("--ro-bind", source, target);
  }
  return args;
}

/**
 * bubblewrap arguments for one run: new user, pid, net, ipc, uts and cgroup namespaces, the
 * system read-only (and the sandbox's own root), size-capped tmpfs for /tmp, /dev/shm and the
 * working directory, a fresh /proc and a minimal read-only /dev, no capabilities, no further user namespaces, the seccomp filter, and the process
 * blocked until the server has put it in its cgroup.
 */
export function bwrapArgs(
  paths: SandboxPaths,
  limits: SandboxLimits,
  env: Record<string, string>,
  options: { seccomp: boolean; block: boolean; zygote?: boolean },
): string[] {
  const args = [
    "--unshare-user",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    // A zygote (trusted, see zygote.py) keeps its capabilities inside its own user namespace
    // to isolate each run it forks, and so may create the runs' nested user namespaces; the
    // runs themselves drop every capability and get the seccomp filter.
    // The bootstrap (or the zygote) is pid 1 of its pid namespace: signals from inside it never
    // reach it, and its end ends everything else there.
    "--as-pid-1",
    ...(options.zygote ? ["--cap-add", "ALL"] : ["--disable-userns", "--cap-drop", "ALL"]),
    "--die-with-parent",
    "--new-session",
    "--hostname",
    "sandbox",
    // Directories bubblewrap would otherwise make 0700 for the files bound below them: a
    // zygote's runs have host uids other than the zygote's, and must be able to enter them.
    ...MADE_DIRS.flatMap((dir) => ["--perms", "0755", "--dir", dir]),
    ...systemArgs(),
    ...SANDBOX_ETC_FILES.flatMap((name) => ["--ro-bind", join(paths.etcDir, name), `/etc/${name}`]),
    ...bindArgs(
      [
        ...(SYSTEM_DIRS.some((dir) => isWithin(paths.pythonPrefix, dir))
          ? []
          : [[paths.pythonPrefix, paths.pythonPrefix] as const]),
        ...(paths.binds ?? []),
      ],
      new Set(MADE_DIRS),
    ),
    "--proc",
    "/proc",
    ...HIDDEN_PROC_FILES.filter((path) => existsSync(path)).flatMap((path) => [
      "--ro-bind",
      join(paths.bootstrapDir, "empty"),
      path,
    ]),
    "--dev",
    "/dev",
    "--size",
    String(limits.diskBytes),
    "--tmpfs",
    "/dev/shm",
    "--size",
    String(limits.diskBytes),
    "--tmpfs",
    "/tmp",
    "--size",
    String(limits.diskBytes),
    "--tmpfs",
    SANDBOX_WORKDIR,
    "--ro-bind",
    paths.bootstrapDir,
    SANDBOX_BOOTSTRAP_DIR,
    // The root and /dev are bubblewrap's own tmpfs: read-only, so the only writable places are
    // the size-capped /tmp, /dev/shm and working directory.
    "--remount-ro",
    "/dev",
    "--remount-ro",
    "/",
    "--chdir",
    SANDBOX_WORKDIR,
    "--clearenv",
  ];
  for (const [key, value] of Object.entries(env)) args.push("--setenv", key, value);
  args.push("--info-fd", String(SANDBOX_FDS.info));
  if (options.block) args.push("--block-fd", String(SANDBOX_FDS.block));
  if (options.seccomp) args.push("--seccomp", String(SANDBOX_FDS.seccomp));
  return args;
}

/** The sandbox's own /etc files, written by `writeSandboxEtc`: nothing of the host's. */
export const SANDBOX_ETC_FILES = ["passwd", "group", "hosts", "nsswitch.conf"] as const;

/**
 * Writes the sandbox's /etc: the run's user, root and nobody (as every system has: owner
 * lookups in tar or zip code work), localhost (resolvable without any network), and name
 * services from these files only.
 */
export async function writeSandboxEtc(dir: string, uid: number, gid: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Record<(typeof SANDBOX_ETC_FILES)[number], string> = {
    passwd: [
      "root:x:0:0:root:/root:/usr/sbin/nologin",
      `sandbox:x:${uid}:${gid}:sandbox:${SANDBOX_WORKDIR}:/usr/sbin/nologin`,
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    ].join("\n"),
    group: ["root:x:0:", `sandbox:x:${gid}:`, "nogroup:x:65534:"].join("\n"),
    // The sandbox's host name resolves, as Debian's installer writes it for a host's own name.
    hosts: [
      "127.0.0.1\tlocalhost",
      "127.0.1.1\tsandbox",
      "::1\tlocalhost ip6-localhost ip6-loopback",
    ].join("\n"),
    "nsswitch.conf": ["passwd: files", "group: files", "shadow: files", "hosts: files"].join("\n"),
  };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(dir, name), `${text}\n`, { mode: 0o644 });
  }
}

/** Finds bubblewrap on PATH. */
export function findBwrap(): string | null {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const candidate = join(dir, "bwrap");
    if (dir && existsSync(candidate)) return candidate;
  }
  return null;
}

/** Generates the seccomp BPF with the host's python3-seccomp; null when that is missing. */
export function generateSeccomp(
  python: string,
  script: string,
  out: string,
  flags: readonly string[] = [],
): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(python, ["-E", "-s", script, ...flags, out], { timeout: 10_000, env: {} }, (error) =>
      resolve(error ? null : out),
    );
  });
}
