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

import builtins  # noqa: E402
import ctypes  # noqa: E402
import fcntl  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import _signal  # noqa: E402
import traceback  # noqa: E402
import atexit  # noqa: E402,F401 - preloaded for the program's end
import types  # noqa: E402,F401 - preloaded for the bootstrap
import resource  # noqa: E402,F401 - preloaded for the bootstrap

from mecha_inits import Inits, check_platform  # noqa: E402
from mecha_isolation import WORKDIR, Nets, isolate, join_cgroups  # noqa: E402
from mecha_linux import (  # noqa: E402
    CLONE_NEWPID, PR_SET_DUMPABLE, SockFprog, check, drop_privileges, libc,
)

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
BOOTSTRAP = "/opt/mecha/bootstrap.py"
# The modules to import once for every run (see `preload` in bootstrap.py), as the server wrote
# them: a JSON list of names.
PRELOAD = "/opt/mecha/preload.json"


# --- the wire format (every message is in zygote_protocol.json, which both sides test) -----


def reply(event, encode=json.JSONEncoder(separators=(",", ":")).encode):
    """Writes an event as a JSON line (for the rare ones; the others are formatted)."""
    os.write(REPLY_FD, (encode(event) + "\n").encode())


def format_ready(run_id, pid, fds):
    """`ready`: U's pid in the zygote's pid namespace and the server's ends of its pipes."""
    return (b'{"type":"ready","id":"%s","pid":%d,"fds":{"stdin":%d,"stdout":%d,"stderr":%d,'
            b'"job":%d,"events":%d}}\n' % (run_id, pid, fds["stdin"], fds["stdout"],
                                             fds["stderr"], fds["job"], fds["events"]))


def format_exit(run_id, status, cpu, maxrss, alone):
    """`exit`: U's wait status and rusage (CPU seconds, peak KiB), and whether it was alone."""
    return b'{"type":"exit","id":"%s","status":%d,"cpu":%r,"maxrss":%d,"alone":%s}\n' % (
        run_id, status, cpu, maxrss, b"true" if alone else b"false")


def format_reaped(run_id, status):
    """`reaped`: the run's init is gone, and so every process of the run (always last)."""
    return b'{"type":"reaped","id":"%s","status":%d}\n' % (run_id, status)


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


def run_program(bootstrap, depth):
    """In U: the program, as `python3 main.py` would run it, through the bootstrap; then the
    end of a forked interpreter (see bootstrap.finish_forked)."""
    os.setsid()
    os.chdir(WORKDIR)
    zygote_modules = dict(sys.modules)
    builtins_before = dict(builtins.__dict__)
    program = None
    try:
        program = bootstrap["start"](bootstrap["read_job"](), depth)
        status, interrupted = program.run()
    except BaseException:  # noqa: BLE001 - the bootstrap itself failed: say why
        traceback.print_exc()
        status, interrupted = 1, False
    status = bootstrap["finish_forked"](status, zygote_modules, builtins_before)
    # Once the program is wholly done (its files closed by its finalization too), before the
    # zygote reports its end.
    if program is not None:
        program.send_files()
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


def program(request, net_fd, bootstrap, depth, seccomp_prog, cgroup_parents):
    """U: joins its cgroups, isolates itself, reports, waits for its job, drops every privilege, runs."""
    join_cgroups(request, cgroup_parents)
    # Its cgroup may be kept from an earlier run, and named after it: nothing of that stays.
    request.pop("cgroup", None)
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
    os.write(REPLY_FD, format_ready(run_id, outer_pid,
                                    {name: server for name, (_, server, _) in pipes.items()}))
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
            os.write(REPLY_FD, format_exit(run.id, status, usage.ru_utime + usage.ru_stime,
                                           usage.ru_maxrss, alone))
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
    os.write(REPLY_FD, format_reaped(run.id, run.init_status))
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
    # Where the init clone was not written for this system, the zygote does not start, and says why.
    check_platform()
    seccomp = load_seccomp()
    seccomp_prog = None if seccomp is None else ctypes.addressof(seccomp)
    cgroup_parents = take_cgroup_parents()
    bootstrap = load_bootstrap()
    try:
        with open(PRELOAD, "rb") as handle:
            names = json.loads(handle.read())
    except FileNotFoundError:
        names = []
    # After STARTUP_MODULES, so that a program's own file of one of these names still wins
    # (see unshadow in bootstrap.py); before serve() freezes what the zygote holds.
    bootstrap["preload"](names)
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
