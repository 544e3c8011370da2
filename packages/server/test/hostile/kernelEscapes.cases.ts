/**
 * Case 15 of the hostile suite (test/hostile.cases.ts): what a program may try against the
 * kernel (ptrace, namespaces, mounts, writes to the system and the bootstrap) all fails.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { linesWith, run, sleepMarker } from "./helpers";
import { sessionRules } from "./mode";
import { sleeper } from "./programs";
import type { HostileSuite } from "./suite";

export function kernelEscapeCases(suite: HostileSuite): void {
  suite.it(
    "15. kernel escapes: ptrace, unshare, mount and writes to the system all fail",
    async () => {
      const sleep = sleepMarker();
      const bootstrap = join(import.meta.dirname, "../../python/bootstrap.py");
      const bootstrapHash = createHash("sha256").update(readFileSync(bootstrap)).digest("hex");
      const code = [
        "import ctypes, errno, os, platform, subprocess",
        sleeper(sleep),
        "libc = ctypes.CDLL(None, use_errno=True)",
        "def call(name, function, *args):",
        "    ctypes.set_errno(0)",
        "    result = function(*args)",
        "    code = ctypes.get_errno()",
        "    print('CALL', name, result, errno.errorcode.get(code, code), flush=True)",
        "CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000",
        "call('ptrace-traceme', libc.ptrace, 0, 0, None, None)",
        "call('ptrace-attach-1', libc.ptrace, 16, 1, None, None)",
        "call('unshare-user', libc.unshare, CLONE_NEWUSER)",
        "call('unshare-mount', libc.unshare, CLONE_NEWNS)",
        "call('unshare-net', libc.unshare, CLONE_NEWNET)",
        "call('unshare-pid', libc.unshare, CLONE_NEWPID)",
        "call('mount-tmpfs', libc.mount, b'none', b'/tmp', b'tmpfs', 0, None)",
        "call('mount-proc', libc.mount, b'proc', b'/tmp', b'proc', 0, None)",
        "call('remount-usr-rw', libc.mount, None, b'/usr', None, 0x20 | 0x1000, None)",
        "call('umount-proc', libc.umount2, b'/proc', 2)",
        "call('chroot', libc.chroot, b'/tmp')",
        "fd = os.open('/proc/1/ns/mnt', os.O_RDONLY) if os.path.exists('/proc/1/ns/mnt') else -1",
        "call('setns', libc.setns, fd, 0)",
        "call('sethostname', libc.sethostname, b'escaped', 7)",
        "if platform.machine() in ('x86_64', 'AMD64'):",
        "    SIGCHLD = 17",
        "    call('clone-newuser', libc.syscall, 56, CLONE_NEWUSER | SIGCHLD, None, None, None, None)",
        "    call('bpf', libc.syscall, 321, 0, None, 0)",
        "    call('keyctl', libc.syscall, 250, 0, 0, 0, 0, 0)",
        "    call('perf_event_open', libc.syscall, 298, None, 0, -1, -1, 0)",
        "    call('io_uring_setup', libc.syscall, 425, 8, None)",
        "    call('init_module', libc.syscall, 175, None, 0, b'')",
        "    call('pivot_root', libc.syscall, 155, b'/tmp', b'/tmp')",
        "    call('userfaultfd', libc.syscall, 323, 0)",
        "import resource",
        "for name in ('RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CPU', 'RLIMIT_NOFILE'):",
        "    which = getattr(resource, name)",
        "    soft, hard = resource.getrlimit(which)",
        "    if hard == resource.RLIM_INFINITY:",
        "        print('UNLIMITED', name)",
        "        continue",
        "    try:",
        "        resource.setrlimit(which, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))",
        "        print('RAISED', name)",
        "    except (ValueError, OSError) as error:",
        "        print('KEPT', name, hard)",
        "for command in (['unshare', '-Ur', 'id', '-u'], ['unshare', '-m', 'true'], ['mount', '-t', 'tmpfs', 'x', '/tmp']):",
        "    try:",
        "        done = subprocess.run(command, capture_output=True, timeout=3)",
        "        print('CMD', command[0], 'rc=%d' % done.returncode)",
        "    except OSError as error:",
        "        print('CMD', command[0], 'missing', error.errno)",
        "created = ['/usr/mecha-escape', '/usr/bin/mecha-escape', '/usr/lib/mecha-escape',",
        "           '/bin/mecha-escape', '/lib/mecha-escape', '/etc/mecha-escape', '/etc/passwd',",
        "           '/etc/ld.so.cache', '/etc/ld.so.preload', '/opt/mecha/bootstrap.py',",
        "           '/opt/mecha/mecha-escape', '/mecha-escape']",
        "for path in created:",
        "    try:",
        "        with open(path, 'ab') as handle:",
        "            handle.write(b'1')",
        "        print('WROTE', path, flush=True)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno), flush=True)",
        "existing = {'/proc/sys/kernel/hostname': b'escaped', '/proc/sys/kernel/core_pattern': b'|/tmp/x',",
        "            '/proc/sys/vm/drop_caches': b'3', '/proc/sysrq-trigger': b'h',",
        "            '/proc/self/oom_score_adj': b'-1000', '/sys/fs/cgroup/cgroup.procs': b'1',",
        "            '/dev/mem': b'1', '/dev/kmem': b'1', '/dev/port': b'1', '/dev/kmsg': b'1',",
        "            '/dev/vda': b'1', '/dev/sda': b'1'}",
        "for path, data in existing.items():",
        "    try:",
        "        fd = os.open(path, os.O_WRONLY)",
        "        try:",
        "            os.write(fd, data)",
        "        finally:",
        "            os.close(fd)",
        "        print('WROTE', path, flush=True)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno), flush=True)",
        "for path in ('/usr/mecha-dir', '/etc/mecha-dir', '/mecha-dir'):",
        "    try:",
        "        os.mkdir(path)",
        "        print('WROTE', path)",
        "    except OSError as error:",
        "        print('READONLY', path, errno.errorcode.get(error.errno, error.errno))",
        "print('DONE')",
      ].join("\n");
      const result = await run(suite.handler(), { code, limits: { timeoutMs: 20_000 } });
      expect(result.status, result.stderr).toBe("succeeded");
      expect(result.stdout).toContain("DONE");
      const calls = linesWith(result.stdout, "CALL ");
      expect(calls.length).toBeGreaterThanOrEqual(13);
      for (const line of calls) expect(line, line).toMatch(/^\S+ -1 E[A-Z]+$/);
      for (const line of linesWith(result.stdout, "CMD ")) expect(line, line).not.toMatch(/ rc=0$/);
      expect(linesWith(result.stdout, "RAISED ")).toEqual([]);
      // Memory is the cgroup's to limit where there is one: then no address-space limit is set.
      const unlimited = linesWith(result.stdout, "UNLIMITED ");
      const mayBeUnlimited = sessionRules.unlimitedRlimits();
      expect(unlimited.every((name) => mayBeUnlimited.includes(name))).toBe(true);
      expect(linesWith(result.stdout, "KEPT ").length + unlimited.length).toBe(5);
      expect(linesWith(result.stdout, "WROTE ")).toEqual([]);
      expect(linesWith(result.stdout, "READONLY ").length).toBe(27);
      expect(createHash("sha256").update(readFileSync(bootstrap)).digest("hex")).toBe(
        bootstrapHash,
      );
      suite.expectNoSurvivors(sleep);
      await suite.expectHealthy();
    },
  );
}
