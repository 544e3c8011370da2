"""What a run's first process (U) does, in the zygote's namespaces, to leave them for the run's
own (see zygote.py): its cgroups, network, mount, ipc, uts and cgroup namespaces, its /proc and
tmpfs, its uid, and a user namespace of its own, whose per-user counters are capped.
"""

import os

from mecha_linux import (
    CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWUTS,
    MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT,
    PR_SET_DUMPABLE, check, libc, mount, write_file,
)

# Files (and hard links) per tmpfs of a run: /workspace, /tmp and /dev/shm.
MAX_INODES = 65536
WORKDIR = "/workspace"
UID = 1000
GID = 1000
# bubblewrap's read-only covers on /proc.
PROC_COVERS = [path for path in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus")
               if os.path.exists(path)]
# What a run may not read of the host's /proc (as HIDDEN_PROC_FILES in sandbox.ts): an empty
# file is mounted over each.
PROC_HIDDEN = [path for path in ("/proc/cmdline", "/proc/config.gz") if os.path.exists(path)]
EMPTY = "/opt/mecha/empty"


def isolate(request, net_fd):
    """In U: leave the zygote's namespaces (but the pid one, already the run's) for the run's own."""
    # A network namespace with no interface up: made for this run, or kept from a run that has
    # wholly ended and left no socket behind (see Nets); held by the zygote's user namespace,
    # where the run has no capability, so nothing in it can be configured from inside.
    check(libc.setns(net_fd, CLONE_NEWNET), "setns(net)")
    os.close(net_fd)
    # Its ipc, uts and cgroup namespaces made here, and its mount namespace by the zygote as it
    # forked U (see Runs.fork), all in the zygote's user namespace and so owned by it: the run's
    # own user namespace (below) holds no capability over any of them, so nothing mounted here
    # can be unmounted, moved or remounted from inside the run.
    check(libc.unshare(CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP), "unshare(run)")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # A /proc of the run's pid namespace (a pid namespace the zygote's user namespace owns).
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # The run's own uid in the zygote's user namespace when the server gave it one (as root, the
    # server maps each to a host uid of its own); else the zygote's.
    uid = request.get("uid")
    own = isinstance(uid, int) and uid > 0
    outer_uid, outer_gid = (uid, uid) if own else (os.getuid(), os.getgid())
    size = int(request.get("disk") or (64 << 20))
    flags = MS_NOSUID | MS_NODEV
    # The inode cap (hard links count too) bounds the work of unmounting them, which the run's
    # init does as it exits, once the run has ended (see Runs.fork).
    caps = "size=%d,nr_inodes=%d" % (size, MAX_INODES)
    mount("tmpfs", WORKDIR, "tmpfs", flags,
          "%s,mode=0755,uid=%d,gid=%d" % (caps, outer_uid, outer_gid))
    for path in ("/tmp", "/dev/shm"):
        mount("tmpfs", path, "tmpfs", flags,
              "%s,mode=1777,uid=%d,gid=%d" % (caps, outer_uid, outer_gid))
    # Terminals of its own (/dev/ptmx points into /dev/pts), as bubblewrap's --dev gives a run.
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    name = b"sandbox"
    check(libc.sethostname(name, len(name)), "sethostname")
    # The run's user namespace limits are set from inside it, through /proc/sys as it is before
    # the covers below make it read-only.
    sysctl_user = os.open("/proc/sys/user", os.O_PATH | os.O_DIRECTORY)
    # The same covers bubblewrap puts on its /proc.
    for path in PROC_COVERS:
        mount(path, path, None, MS_BIND | MS_REC)
        mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for path in PROC_HIDDEN:
        mount(EMPTY, path, None, MS_BIND)
        mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if own:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # A change of uid makes a process undumpable, and its /proc files root's: it could then
        # not write its own uid map below.
        check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    # The run's own user namespace (uid 1000 only), owning none of the namespaces above.
    check(libc.unshare(CLONE_NEWUSER), "unshare(user)")
    write_file("/proc/self/setgroups", "deny")
    # uid 1000 of the run is its uid outside (unprivileged on the host); nothing else is mapped,
    # so the run has no root of any kind.
    write_file("/proc/self/uid_map", "%d %d 1\n" % (UID, outer_uid))
    write_file("/proc/self/gid_map", "%d %d 1\n" % (GID, outer_gid))
    # Per-user kernel counters are charged to this namespace and every one above it, up to the
    # zygote's uid on the host: capped here, runs together cannot exhaust them for each other.
    # No namespaces of any kind below this one (as bubblewrap's --disable-userns, and more).
    instances, watches = request.get("inotify") or (0, 0)
    caps = [("max_inotify_instances", instances), ("max_inotify_watches", watches),
            ("max_fanotify_groups", 0), ("max_fanotify_marks", 0)]
    caps += [("max_%s_namespaces" % kind, 0)
             for kind in ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time")]
    for name, value in caps:
        try:
            write_file(name, str(value), dir_fd=sysctl_user)
        except OSError:
            pass
    os.close(sysctl_user)


def join_cgroups(request, parents):
    """In U, first of all: into the run's cgroups (one per hierarchy), then closes their parents."""
    name = request.get("cgroup")  # a name (see parse_request) or None
    if name is not None:
        if not parents:
            raise ValueError("no cgroup %r to join" % (name,))
        for parent in parents:
            # "0" is the writer: U (one thread), and everything it starts later.
            write_file(name + "/tasks", "0", dir_fd=parent)
    for parent in parents:
        os.close(parent)


class Nets:
    """Network namespaces for runs, each used by one run at a time.

    Making one and tearing it down is most of what a run's isolation costs the kernel, so one
    whose run has wholly ended (its pid namespace gone, so every process of it) is kept for a
    later run, if it holds no socket any more: nothing else of a run outlives its processes
    there, as the run can configure nothing in it (no capability in its user namespace; no
    interface up, so no connection ever existed). A unix socket can outlive them in flight (sent
    over another, in a cycle), so a namespace that still lists one is dropped, never reused.
    """

    KEEP = 16

    def __init__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.free = []

    def take(self):
        if self.free:
            return self.free.pop()
        check(libc.unshare(CLONE_NEWNET), "unshare(net)")
        try:
            return os.open("/proc/self/ns/net", os.O_RDONLY)
        finally:
            check(libc.setns(self.home, CLONE_NEWNET), "setns(net)")

    def give_back(self, fd):
        clean = False
        if len(self.free) < self.KEEP and libc.setns(fd, CLONE_NEWNET) == 0:
            try:
                listing = os.open("/proc/self/net/unix", os.O_RDONLY)
                try:
                    # Its header line alone; the first read holds at least one socket more if any.
                    clean = os.read(listing, 4096).count(b"\n") <= 1
                finally:
                    os.close(listing)
            except OSError:
                pass
            check(libc.setns(self.home, CLONE_NEWNET), "setns(net)")
        if clean:
            self.free.append(fd)
        else:
            os.close(fd)
