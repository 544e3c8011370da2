"""Mecha's zygote: one warm interpreter that forks a fresh, isolated process tree per run.

Started by the server inside bubblewrap (its own user namespace, where it is uid 0 with every
capability, mapped to an unprivileged host uid; its own pid, net, ipc and uts namespaces; the
system read-only; pid 1 of its pid namespace) as `python3 -s -u zygote.py`. It never runs a
program itself. It reads the seccomp filter (BPF) from fd 5, then serves requests read from fd 3
as lines of words (a run's id and cgroup are letters, digits, "-" and "_"; "-" stands for a
value not given) and answers on fd 4 as JSON lines, each one write(2), so lines never interleave.
Both sides are built by formatting, not by the json module: encoding and decoding JSON writes to
many more of the zygote's pages, each then copied for the zygote after every fork.

  fork <id> <disk bytes> <uid>|- <cgroup>|- <inotify instances> <inotify watches>
                                -> the run's init is cloned as pid 1 of a new pid namespace (see
      Inits), and the zygote forks U, the program's first process, into it (pid 2). With a
      cgroup, U first moves itself into the run's cgroups (see Cgroups). U isolates itself and
      answers {"type": "ready", "id", "pid", "fds": {"stdin", "stdout", "stderr", "job",
      "events"}} (U's pid in the zygote's pid namespace), then waits for the job. The server
      moves U (by its host pid) into the run's cgroup unless U did, opens the server's ends of
      the run's pipes through /proc/<pid>/fd and, once the run has its job, writes it on the job
      pipe: U then closes the server's ends, drops every privilege and runs the program through
      the bootstrap (see bootstrap.py).
  kill <id>                     -> the zygote kills the run's init, and the kernel the rest of it.
  When U is reaped the zygote answers {"type": "exit", "id", "status", "cpu", "maxrss",
  "alone"} (U's wait4 status and rusage: how the program ended, from the kernel, never from the
  program). If U left nothing running (`alone`) the zygote ends the run's init at once; else the
  run goes on until the server ends it (once every process of the run has closed the program's
  output, or at its time limit). Once the init is reaped (the kernel lets it go only when every other process of the
  run is gone) it answers {"type": "reaped", "id", "status"} (always last). A run that could
  not be set up is answered {"type": "failed", "id", "message"}.

Cgroups: the server may pass the zygote, on fds 8 on, the directories it makes runs' cgroups in
(cgroup v1: one per hierarchy), each run's `tasks` file there belonging to the zygote's uid.
U writes "0" (itself) to `<cgroup>/tasks` under each, and closes them, before anything else: it
is in its cgroups before it has allocated anything. `tasks` moves one thread, and U, just forked,
is one thread; moving a whole process through `cgroup.procs` would take the kernel's global
thread-group lock, whose first taking in a while waits for an RCU grace period (milliseconds).

Per run, U leaves the zygote's namespaces: a network namespace no other running run is in (see
Nets); mount, ipc, uts and cgroup namespaces of its own, owned by the zygote's user namespace,
with a /proc of the run's pid namespace, fresh size-capped tmpfs on /workspace, /tmp and
/dev/shm, a devpts instance of its own and bubblewrap's read-only covers on /proc; the run's own
uid when the server gave one (as root, the server maps a host uid of its own to each run); then
a user namespace of its own (uid 1000 only, that uid outside), which owns none of the others,
so nothing mounted can be undone from inside, and whose per-user kernel counters (inotify) are
capped so that runs together cannot exhaust the zygote's. Then U drops every capability
(bounding and ambient sets too), sets no_new_privs, loads the seccomp filter and runs the
program in a session of its own.

Nothing of the zygote's bookkeeping reaches a run: U leaves serve() by an exception (see
Forked), so no frame of the zygote's loop, nor the objects only its frames held, is left in U.
"""

import sys

# What a fresh `python3 main.py` has loaded: handed to the bootstrap (see STARTUP_MODULES there).
STARTUP_MODULES = frozenset(sys.modules)

import atexit  # noqa: E402,F401 - preloaded for the program's end
import builtins
import ctypes
import fcntl
import gc
import json
import mmap
import os
import select
import signal
import _signal
import traceback
import types  # noqa: F401 - preloaded for the bootstrap
import resource  # noqa: F401 - preloaded for the bootstrap

CONTROL_IN = 3
CONTROL_OUT = 4
SECCOMP_IN = 5
# The directories of runs' cgroups, when the server passes them (see Cgroups): 8, 9, ...
CGROUP_IN = 8
CGROUPS_MAX = 3
# The zygote's own descriptors live high so that 0-4 are free for each run's standard streams.
REPLY_FD = 100
CGROUP_FD = 101
MAX_FD = 65536
# Files (and hard links) per tmpfs of a run: /workspace, /tmp and /dev/shm.
MAX_INODES = 65536
BOOTSTRAP = "/opt/mecha/bootstrap.py"
WORKDIR = "/workspace"
UID = 1000
GID = 1000

CLONE_VM = 0x00000100
CLONE_FILES = 0x00000400
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522

# The interpreter's own libc (ctypes.util.find_library would import random, seeded here once).
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.clone.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
libc.getcontext.argtypes = [ctypes.c_void_p]
libc.makecontext.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_long]


# Read once: the same for every run (the kernel's, and what a fresh /proc of a run shows).
CAP_LAST = int(open("/proc/sys/kernel/cap_last_cap").read())
ALL_SIGNALS = _signal.valid_signals()
# bubblewrap's read-only covers on /proc.
PROC_COVERS = [path for path in ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus")
               if os.path.exists(path)]
# What a run may not read of the host's /proc (as HIDDEN_PROC_FILES in sandbox.ts): an empty
# file is mounted over each.
PROC_HIDDEN = [path for path in ("/proc/cmdline", "/proc/config.gz") if os.path.exists(path)]
EMPTY = "/opt/mecha/empty"


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, "%s: %s" % (what, os.strerror(code)))


def mount(source, target, fstype, flags, data=None):
    if libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                  data and data.encode()) != 0:
        check(-1, "mount %s" % target)


def write_file(path, text, dir_fd=None):
    fd = os.open(path, os.O_WRONLY, dir_fd=dir_fd)
    try:
        try:
            os.write(fd, text.encode())
        except OSError as error:
            raise OSError(error.errno, "%s: %s" % (path, error.strerror)) from None
    finally:
        os.close(fd)


def reply(event, encode=json.JSONEncoder(separators=(",", ":")).encode):
    """Writes an event as a JSON line (for the rare ones; the others are formatted)."""
    os.write(REPLY_FD, (encode(event) + "\n").encode())


def parse_request(line):
    """A request line as a dict (`op`, `id`, and for a fork `disk`, `uid`, `cgroup`, `inotify`);
    None if it is not one."""
    words = line.split()
    if len(words) < 2 or not is_name(words[1]):
        return None
    if words[0] == b"kill" and len(words) == 2:
        return {"op": "kill", "id": words[1]}
    if words[0] != b"fork" or len(words) != 7 or not words[2].isdigit():
        return None
    uid, cgroup = words[3], words[4]
    if (uid != b"-" and not uid.isdigit()) or (cgroup != b"-" and not is_name(cgroup)):
        return None
    if not (words[5].isdigit() and words[6].isdigit()):
        return None
    return {"op": "fork", "id": words[1], "disk": int(words[2]),
            "uid": None if uid == b"-" else int(uid),
            "cgroup": None if cgroup == b"-" else cgroup.decode(),
            "inotify": (int(words[5]), int(words[6]))}


def is_name(word):
    """Letters, digits, "-" and "_" only (bytes): safe in a path and in a JSON string as it is."""
    return word.replace(b"-", b"").replace(b"_", b"").isalnum()


def report_failure(request, error):
    """Tells the server why a run could not be set up (its last line of traceback included)."""
    try:
        reply({"type": "failed", "id": request["id"].decode(),
               "message": "%s: %s (%s)" % (
                   type(error).__name__, error,
                   traceback.format_exc(limit=-1).strip().splitlines()[1])})
    except OSError:
        pass


# --- the run: its init (pid 1 of its own pid namespace) and U (the program, pid 2) ---------


def isolate(request, net_fd):
    """In U: leave the zygote's namespaces (but the pid one, already the run's) for the run's own."""
    # A network namespace with no interface up: made for this run, or kept from a run that has
    # wholly ended and left no socket behind (see Nets); held by the zygote's user namespace,
    # where the run has no capability, so nothing in it can be configured from inside.
    check(libc.setns(net_fd, CLONE_NEWNET), "setns(net)")
    os.close(net_fd)
    # Its mount, ipc, uts and cgroup namespaces, made here in the zygote's user namespace and so
    # owned by it: the run's own user namespace (below) holds no capability over any of them,
    # so nothing mounted here can be unmounted, moved or remounted from inside the run.
    check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP),
          "unshare(run)")
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
    # last process does as it exits, in the run's cgroup.
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


# capset(2)'s arguments for no capability at all, made once: each run only passes them on.
CAP_HEADER = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
CAP_NONE = (CapData * 2)()


def drop_privileges(seccomp_prog):
    """In U: no capabilities at all, no way to gain any, and the seccomp filter (its address)."""
    prctl = libc.prctl
    for cap in range(CAP_LAST + 1):
        if prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            check(-1, "capbset drop")
    check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient clear")
    check(libc.capset(ctypes.addressof(CAP_HEADER), ctypes.addressof(CAP_NONE)), "capset")
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if seccomp_prog is not None:
        check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, seccomp_prog, 0, 0), "seccomp")


def run_program(bootstrap, depth):
    """In U: the program, as `python3 main.py` would run it, through the bootstrap; then the
    end of a forked interpreter (see bootstrap.finish_forked)."""
    os.setsid()
    os.chdir(WORKDIR)
    zygote_modules = dict(sys.modules)
    builtins_before = dict(builtins.__dict__)
    try:
        status, interrupted = bootstrap["start"](bootstrap["read_job"](), depth).run()
    except BaseException:  # noqa: BLE001 - the bootstrap itself failed: say why
        traceback.print_exc()
        status, interrupted = 1, False
    status = bootstrap["finish_forked"](status, zygote_modules, builtins_before)
    if interrupted:
        bootstrap["die_of_sigint"]()
    os._exit(status)


def close_all_but(keep):
    """Closes every descriptor from 3 up but those in `keep` (close_range(2), no /proc walk)."""
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


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


def program(request, net_fd, bootstrap, depth, seccomp_prog, cgroup_parents):
    """U: joins its cgroups, isolates itself, reports, waits for its job, drops every privilege, runs."""
    join_cgroups(request, cgroup_parents)
    run_id = request["id"]
    # Its pid in the zygote's pid namespace, read from the zygote's /proc before the run's own
    # is mounted: the server finds the run's host pid from it.
    outer_pid = int(os.readlink("/proc/self"))
    isolate(request, net_fd)
    # Each pipe: (the run's end, the server's end, the fd the run sees it as).
    pipes = {}
    for name, target, run_reads in (("stdin", 0, True), ("stdout", 1, False),
                                    ("stderr", 2, False), ("job", 3, True),
                                    ("events", 4, False)):
        r, w = os.pipe()
        pipes[name] = (r, w, target) if run_reads else (w, r, target)
    os.write(REPLY_FD, b'{"type":"ready","id":"%s","pid":%d,"fds":{"stdin":%d,"stdout":%d,'
             b'"stderr":%d,"job":%d,"events":%d}}\n'
             % (run_id, outer_pid, *(server for _, server, _ in pipes.values())))
    # The job comes once the server has placed U in the run's cgroup and opened its pipes
    # (nothing of the run starts before); a run abandoned before is killed waiting.
    select.select([pipes["job"][0]], [], [])
    ends = []
    for run_end, server_end, _ in pipes.values():
        os.close(server_end)
        ends.append(run_end)
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in ends]
    for fd in ends:
        os.close(fd)
    for (_, _, target), fd in zip(pipes.values(), moved):
        os.dup2(fd, target)
        os.close(fd)
    os.close(REPLY_FD)
    drop_privileges(seccomp_prog)
    run_program(bootstrap, depth)


class Inits:
    """pid 1 of each run's pid namespace: a clone of the zygote that runs no Python at all.

    The init shares the zygote's memory and descriptor table (so it copies no page and holds no
    descriptor of its own) and runs three libc calls chained with ucontext, each on a stack of
    its own: setsid() (a session, and so an autogroup, of its own), signal(SIGCHLD, SIG_IGN)
    (the kernel reaps every orphan handed to it) and pause(), with every signal blocked, for
    good. It stays in the zygote's user namespace, where the run has no capability, and its
    memory is the zygote's, which is not dumpable: the program can neither trace it nor open
    what /proc guards with ptrace rights (/proc/1/mem, environ, root, fd/N, ns/*). As the init
    of its pid namespace it receives no signal sent from inside it. The zygote ends a run by
    killing its init: the kernel then kills everything else in the run's pid namespace.
    """

    CONTEXT = 8192  # more than any ucontext_t
    STACK = 8192
    TOP = 64  # what makecontext writes at the top of a stack (the trampoline, uc_link)
    # Offsets in ucontext_t (glibc, 64-bit): uc_link, then uc_stack's ss_sp, ss_flags, ss_size.
    LINK, STACK_SP, STACK_SIZE = 8, 16, 32

    def __init__(self):
        self.free = []
        self.live = {}  # pid -> its memory, kept until it is reaped
        self.steps = [(ctypes.cast(libc.setsid, ctypes.c_void_p), 0, 0, 0),
                      (ctypes.cast(libc.signal, ctypes.c_void_p), 2, signal.SIGCHLD, 1),
                      (ctypes.cast(libc.pause, ctypes.c_void_p), 0, 0, 0)]
        self.start_fn = ctypes.cast(libc.setcontext, ctypes.c_void_p)

    def start(self):
        """Clones an init into the pid namespace for the zygote's next children; its pid."""
        if self.free:
            block = self.free.pop()
            # The tops of its stacks back as made: returning from a step leaves there the return
            # address of the call to the next context, where makecontext put its trampoline's.
            for offset, top in block.made:
                block.memory[offset:offset + len(top)] = top
        else:
            block = self.make()
        # Started with every signal blocked, until its first context sets the same mask.
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, ALL_SIGNALS)
        try:
            pid = libc.clone(self.start_fn, block.top, CLONE_VM | CLONE_FILES | _signal.SIGCHLD,
                             block.first)
            if pid < 0:
                code = ctypes.get_errno()
                self.free.append(block)
                raise OSError(code, "clone: %s" % os.strerror(code))
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        self.live[pid] = block
        return pid

    def make(self):
        """A block of contexts and stacks, made once and kept as made for the inits after."""
        count = len(self.steps)
        # Pages of their own that no run inherits: forking copies and tears down less.
        memory = mmap.mmap(-1, count * self.CONTEXT + (count + 1) * self.STACK)
        memory.madvise(mmap.MADV_DONTFORK)
        base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
        contexts = [base + i * self.CONTEXT for i in range(count)]
        stacks = [base + count * self.CONTEXT + i * self.STACK for i in range(count + 1)]
        # The contexts keep the signal mask they are made with: every signal blocked.
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, ALL_SIGNALS)
        try:
            for i, (function, argc, first, second) in enumerate(self.steps):
                context = contexts[i]
                check(libc.getcontext(context), "getcontext")
                last = i == count - 1
                # The last step links to itself: were pause() ever to return, it pauses again.
                ctypes.c_void_p.from_address(context + self.LINK).value = contexts[i if last else i + 1]
                ctypes.c_void_p.from_address(context + self.STACK_SP).value = stacks[i]
                ctypes.c_size_t.from_address(context + self.STACK_SIZE).value = self.STACK
                libc.makecontext(context, function, argc, first, second)
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        offsets = [stack - base + self.STACK - self.TOP for stack in stacks[:count]]
        made = [(offset, memory[offset:offset + self.TOP]) for offset in offsets]
        return InitBlock(memory, made, contexts[0], stacks[count] + self.STACK)

    def reaped(self, pid):
        block = self.live.pop(pid, None)
        if block is None:
            return
        if len(self.free) < 64:
            self.free.append(block)
        else:
            block.memory.close()


class InitBlock:
    """An init's memory (contexts and stacks), its stacks' tops as made, where it starts."""

    __slots__ = ("memory", "made", "first", "top")

    def __init__(self, memory, made, first, top):
        self.memory = memory
        self.made = made
        self.first = first
        self.top = top


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


# --- the zygote --------------------------------------------------------------------------


def load_seccomp():
    try:
        chunks = []
        while True:
            chunk = os.read(SECCOMP_IN, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(SECCOMP_IN)
    except OSError:
        # No filter passed: the server runs without one, and says so.
        return None
    data = b"".join(chunks)
    if not data or len(data) % 8:
        raise ValueError("the seccomp filter is not BPF")
    buffer = ctypes.create_string_buffer(data, len(data))
    prog = SockFprog(len(data) // 8, ctypes.addressof(buffer))
    # Kept for as long as the zygote lives: every run loads the filter from this address.
    prog.buffer = buffer
    return prog


def take_cgroup_parents():
    """The directories of runs' cgroups the server passed on fds 8 on (see Cgroups), moved high."""
    parents = []
    for fd in range(CGROUP_IN, CGROUP_IN + CGROUPS_MAX):
        try:
            os.stat("cgroup.procs", dir_fd=fd)
        except OSError:
            # None (or no more) passed. A run asked to join a cgroup without one is not started.
            break
        os.dup2(fd, CGROUP_FD + len(parents))
        os.close(fd)
        parents.append(CGROUP_FD + len(parents))
    return parents


class Run:
    """A run as the zygote keeps it: its init, its program, and what goes back when both end."""

    __slots__ = ("id", "init", "program", "net_fd", "init_status")

    def __init__(self, run_id, init, net_fd):
        self.id = run_id
        self.init = init
        self.program = None
        self.net_fd = net_fd
        self.init_status = None


class Forked(BaseException):
    """Raised in U right after the fork: it leaves serve() for main(), which runs the program
    with none of the zygote's frames (and none of their bookkeeping) below it."""

    def __init__(self, request, net_fd, cgroup_parents):
        super().__init__()
        self.request = request
        self.net_fd = net_fd
        self.cgroup_parents = cgroup_parents


def fork_run(request, runs, by_id, inits, nets, pid_ns, cgroup_parents):
    """Starts a run: its init as pid 1 of a new pid namespace, then its program (U) as pid 2."""
    run_id = request.get("id")
    try:
        net_fd = nets.take()
    except OSError as error:
        reply({"type": "failed", "id": run_id.decode(), "message": str(error)})
        return
    run = None
    pid = None
    try:
        # The zygote's next children are created in a new pid namespace: the init first, as its
        # pid 1, then the program. Its later children are again created in the zygote's.
        check(libc.unshare(CLONE_NEWPID), "unshare(pid)")
        try:
            run = Run(run_id, inits.start(), net_fd)
            runs[run.init] = run
            by_id[run_id] = run
            pid = os.fork()
        finally:
            if run is None or pid != 0:
                check(libc.setns(pid_ns, CLONE_NEWPID), "setns(pid)")
    except OSError as error:
        if run is None:
            nets.give_back(net_fd)
        else:
            # Gives the network back once the init is reaped.
            os.kill(run.init, signal.SIGKILL)
        reply({"type": "failed", "id": run_id.decode(), "message": str(error)})
        return
    if pid == 0:
        try:
            signal.set_wakeup_fd(-1)
            _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
            close_all_but({REPLY_FD, net_fd, *cgroup_parents})
        except BaseException as error:  # noqa: BLE001
            report_failure(request, error)
            os._exit(126)
        raise Forked(request, net_fd, cgroup_parents)
    run.program = pid
    runs[pid] = run


def has_children(pid):
    """Whether a process (a run's init) has a child left: the orphans of a run are its init's."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), "rb") as listing:
            return bool(listing.read().strip())
    except OSError:
        return False


def reap(runs, by_id, inits, nets):
    """Reaps every child that has ended and reports the runs they belong to: a program's end
    (`exit`) as soon as it is reaped, the run's (`reaped`) once its init is, always last."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        run = runs.pop(pid, None)
        if run is None:
            continue
        if pid == run.program:
            run.program = None
            alone = run.init_status is not None or not has_children(run.init)
            os.write(REPLY_FD, b'{"type":"exit","id":"%s","status":%d,"cpu":%r,"maxrss":%d,'
                     b'"alone":%s}\n' % (run.id, status, usage.ru_utime + usage.ru_stime,
                                         usage.ru_maxrss, b"true" if alone else b"false"))
            if run.init_status is not None:
                ended(run, by_id, inits, nets)
            elif alone:
                # Nothing else of the run is left: it has wholly ended.
                kill_init(run)
        else:
            # The kernel lets the init go only once every other process of the run is gone.
            run.init_status = status
            inits.reaped(pid)
            if run.program is None:
                ended(run, by_id, inits, nets)


def kill_init(run):
    try:
        os.kill(run.init, signal.SIGKILL)
    except OSError:
        pass


def ended(run, by_id, inits, nets):
    if by_id.get(run.id) is run:
        del by_id[run.id]
    os.write(REPLY_FD, b'{"type":"reaped","id":"%s","status":%d}\n' % (run.id, run.init_status))
    nets.give_back(run.net_fd)


def serve(cgroup_parents):
    """The zygote's loop. Raises Forked in each run's first process (see main)."""
    os.dup2(CONTROL_OUT, REPLY_FD)
    os.close(CONTROL_OUT)
    control = os.dup(CONTROL_IN)
    os.close(CONTROL_IN)
    pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    nets = Nets()
    inits = Inits()
    runs = {}  # pid (init or program) -> Run
    by_id = {}  # run id -> Run, until its init is reaped
    pending = b""
    gc.collect()
    gc.freeze()
    libc.malloc_trim(0)
    reply({"type": "hello", "pid": os.getpid()})
    while True:
        try:
            readable, _, _ = select.select([control, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        reap(runs, by_id, inits, nets)
        if control not in readable:
            continue
        data = os.read(control, 65536)
        if not data:
            os._exit(0)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = parse_request(line)
            if request is None:
                continue
            op = request["op"]
            if op == "fork":
                fork_run(request, runs, by_id, inits, nets, pid_ns, cgroup_parents)
            elif op == "kill":
                # By the zygote, which reaps its children: never a pid already reused.
                run = by_id.get(request["id"])
                if run is not None and runs.get(run.init) is run:
                    kill_init(run)


def load_bootstrap():
    """The bootstrap's definitions, made once here: each run only calls them."""
    bootstrap = {"__name__": "__mecha_bootstrap__", "__file__": BOOTSTRAP,
                 "__builtins__": builtins, "__cached__": None,
                 "STARTUP_MODULES": STARTUP_MODULES}
    with open(BOOTSTRAP, "rb") as handle:
        exec(compile(handle.read(), BOOTSTRAP, "exec", dont_inherit=True), bootstrap)
    return bootstrap


def main():
    # Not dumpable, whatever the host's fs.suid_dumpable: with ptrace rights only over the
    # zygote's user namespace may anyone read its memory or open its descriptors through /proc,
    # and each run's init, a clone sharing both, is the pid 1 its program sees.
    check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    seccomp = load_seccomp()
    seccomp_prog = None if seccomp is None else ctypes.addressof(seccomp)
    cgroup_parents = take_cgroup_parents()
    bootstrap = load_bootstrap()
    depth = bootstrap["RecursionDepth"]()
    try:
        serve(cgroup_parents)
    except Forked as forked:
        request, net_fd = forked.request, forked.net_fd
    # In U, with serve()'s frames gone (with the exception that held them).
    try:
        program(request, net_fd, bootstrap, depth, seccomp_prog, cgroup_parents)
    except BaseException as error:  # noqa: BLE001
        report_failure(request, error)
    os._exit(126)


if __name__ == "__main__":
    main()
