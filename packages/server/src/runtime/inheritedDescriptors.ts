import { openSync, readdirSync, readFileSync } from "node:fs";

const O_CLOEXEC = 0o2000000;

/**
 * Descriptors of this process that a child it starts would inherit: those from 3 up without
 * close-on-exec. Node opens none like that; they come from whatever started the server (a
 * shell's `21</etc/shadow`, a supervisor's sockets).
 */
export function inheritedDescriptors(): number[] {
  if (process.platform !== "linux") return [];
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc/self/fdinfo");
  } catch {
    return [];
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (!Number.isInteger(fd) || fd < 3) continue;
    try {
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"));
      if (flags && (Number.parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) found.push(fd);
    } catch {
      // closed meanwhile
    }
  }
  return found.sort((a, b) => a - b);
}

let devNull: number | null = null;

/**
 * A spawn's `stdio` with every inherited descriptor beyond it replaced by /dev/null in the
 * child (Node leaves the ones it is not given alone), so nothing the server inherited reaches a
 * program.
 */
export function withInheritedClosed<T>(stdio: (T | number)[]): (T | number | "ignore")[] {
  const leaked = inheritedDescriptors().filter((fd) => fd >= stdio.length);
  if (leaked.length === 0) return stdio;
  devNull ??= openSync("/dev/null", "r");
  const padded: (T | number | "ignore")[] = [...stdio];
  const top = leaked[leaked.length - 1]!;
  for (let fd = stdio.length; fd <= top; fd++) padded.push("ignore");
  for (const fd of leaked) padded[fd] = devNull;
  return padded;
}
