import { writeFile } from "node:fs/promises";
import { arch } from "node:os";
import { join } from "node:path";
import { SECCOMP_FILTER_SCRIPT } from "./pythonFiles";
import { generateSeccomp } from "./sandbox";
import { SECCOMP_X64_BASE64, SECCOMP_X64_HOST_NETWORK_BASE64 } from "./seccompX64";

/**
 * The seccomp filter, written into `stateDir` for this host by python3-seccomp, else the one
 * shipped for x86-64; null where neither exists. `hostNetwork`: the filter for runs without the
 * sandbox, which leaves sockets of every family to the run (see python/seccomp_filter.py).
 */
export async function seccompFilter(
  python: string,
  stateDir: string,
  { hostNetwork = false }: { hostNetwork?: boolean } = {},
): Promise<string | null> {
  const script = join(stateDir, "seccomp_filter.py");
  await writeFile(script, SECCOMP_FILTER_SCRIPT, { mode: 0o644 });
  const out = join(stateDir, hostNetwork ? "seccomp-host-network.bpf" : "seccomp.bpf");
  if (await generateSeccomp(python, script, out, hostNetwork ? ["--host-network"] : [])) return out;
  if (arch() !== "x64") return null;
  const shipped = hostNetwork ? SECCOMP_X64_HOST_NETWORK_BASE64 : SECCOMP_X64_BASE64;
  await writeFile(out, Buffer.from(shipped, "base64"), { mode: 0o644 });
  return out;
}
