"""Writes Mecha's seccomp filter as BPF to the path given on the command line.

Run by the server at start-up with the host's trusted python3 and Debian's python3-seccomp
(libseccomp); bubblewrap, or the zygote, loads the result. Everything is allowed except what a
program has no business doing in a sandbox: kernel, mount and namespace administration,
tracing other processes, keyrings, BPF, io_uring, sockets other than AF_UNIX, and TIOCSTI.

`--host-network` (for runs without the sandbox, which have the host's network by design):
the same filter but for sockets, which it leaves to the run.
"""

import errno
import sys

import seccomp

DENIED = """
acct add_key adjtimex bpf chroot clock_adjtime clock_settime create_module delete_module
fanotify_init finit_module fsconfig fsmount fsopen fspick get_kernel_syms init_module ioperm
iopl io_uring_enter io_uring_register io_uring_setup kcmp kexec_file_load kexec_load keyctl
lookup_dcookie mount mount_setattr move_mount move_pages migrate_pages name_to_handle_at
nfsservctl open_by_handle_at open_tree perf_event_open personality pivot_root
process_vm_readv process_vm_writev ptrace query_module quotactl reboot request_key setdomainname
sethostname setns settimeofday swapoff swapon syslog umount2 unshare uselib userfaultfd vhangup
""".split()

CLONE_NEWUSER = 0x10000000
AF_UNIX = 1
TIOCSTI = 0x5412


def main(path, host_network=False):
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    # A binary tree of syscall numbers rather than a list: the same decisions in fewer steps,
    # for each call a program makes and for the kernel, which runs the filter over every
    # syscall number when a process installs it (about 100 µs instead of 145-185 here).
    f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
    eperm = seccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            f.add_rule(eperm, name)
        except (RuntimeError, ValueError, OSError):
            pass  # not a syscall on this architecture
    # New user namespaces are the door to most kernel attack surface.
    f.add_rule(eperm, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER))
    # clone3 passes its flags in memory a filter cannot read; glibc falls back to clone.
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    if not host_network:
        f.add_rule(eperm, "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    f.add_rule(eperm, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    with open(path, "wb") as out:
        f.export_bpf(out)


if __name__ == "__main__":
    main(sys.argv[-1], host_network="--host-network" in sys.argv[1:-1])
