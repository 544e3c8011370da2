import { readFileSync } from "node:fs";

function readSetting(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * Why bubblewrap's sandbox failed here, and what fixes it, in one sentence for the start-up
 * message: from the kernel's settings that block unprivileged user namespaces, else from
 * bubblewrap's own words. Null when nothing better than its words can be said.
 */
export function explainSandboxFailure(
  problem: string,
  read: (path: string) => string | null = readSetting,
): string | null {
  if (read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") === "1") {
    return (
      "AppArmor restricts unprivileged user namespaces on this host (Ubuntu 23.10 and later: " +
      "kernel.apparmor_restrict_unprivileged_userns=1). Fix: give /usr/bin/bwrap an AppArmor " +
      'profile that allows `userns` (docs/security.md, "Ubuntu 23.10 and later"), or run the ' +
      "server as root"
    );
  }
  if (read("/proc/sys/user/max_user_namespaces") === "0") {
    return (
      "user namespaces are turned off on this host (user.max_user_namespaces=0). Fix: " +
      "`sysctl -w user.max_user_namespaces=15000` (and in /etc/sysctl.d to keep it)"
    );
  }
  if (read("/proc/sys/kernel/unprivileged_userns_clone") === "0") {
    return (
      "unprivileged user namespaces are turned off on this host " +
      "(kernel.unprivileged_userns_clone=0). Fix: `sysctl -w kernel.unprivileged_userns_clone=1`, " +
      "or run the server as root"
    );
  }
  if (/operation not permitted|permission denied/i.test(problem)) {
    return (
      "the system calls bubblewrap needs (clone, unshare, mount with user namespaces) are refused, " +
      "as a container's default seccomp profile refuses them. Fix: run in a container whose " +
      'profile allows them (docs/security.md, "Docker and Kubernetes")'
    );
  }
  return null;
}
