import { expect, it } from "vitest";
import { explainSandboxFailure } from "../src/runtime/explainSandboxFailure";

const settings = (values: Record<string, string>) => (path: string) => values[path] ?? null;

it.each([
  [
    "AppArmor on Ubuntu 23.10+",
    { "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1" },
    "bwrap: setting up uid map: Permission denied",
    /AppArmor restricts unprivileged user namespaces.*profile that allows `userns`/,
  ],
  [
    "user namespaces off",
    { "/proc/sys/user/max_user_namespaces": "0" },
    "bwrap: No permissions to create new namespace",
    /user\.max_user_namespaces=0\). Fix: `sysctl -w user\.max_user_namespaces=15000`/,
  ],
  [
    "Debian's older switch",
    { "/proc/sys/kernel/unprivileged_userns_clone": "0" },
    "bwrap: No permissions to create new namespace",
    /kernel\.unprivileged_userns_clone=1/,
  ],
  [
    "a container's seccomp profile",
    {},
    "bwrap: Creating new namespace failed: Operation not permitted",
    /container's default seccomp profile.*Docker and Kubernetes/,
  ],
])("explains %s in one sentence with its fix", (_, values, problem, expected) => {
  expect(explainSandboxFailure(problem, settings(values))).toMatch(expected);
});

it("says nothing it does not know", () => {
  expect(explainSandboxFailure("bwrap: execvp python3: No such file", settings({}))).toBeNull();
});
