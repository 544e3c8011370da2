"""What both kinds of Mecha's zygote share (see zygote.py): the wire format, the loop that
serves the server's requests, and the steps of a run's first process (U) around its isolation:
taking its pipes, waiting for its job, and running the program through the bootstrap.

How a run is forked, isolated, reaped and ended is the kind's own: `mecha_sandbox_runs`
(namespaces, inside bubblewrap) or `mecha_plain_runs` (no namespaces). Each provides `Runs`,
whose `fork` raises `Forked` in U and whose `end_all` ends every run when the server goes,
`start_up(options)` first of all and `program(...)`, what U does.
"""

import ctypes
import fcntl
import gc
import json
import os
import select
import signal
import sys
import traceback

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
LINUX = sys.platform.startswith("linux")
# The named pipes of a run where the server cannot open U's pipes through /proc (see
# hand_over_fifos), in the run's working directory until both sides have them open.
FIFO_PREFIX = ".mecha-"


# --- the wire format (every message is in zygote_protocol.json, which both sides test) -----


def reply(event, encode=json.JSONEncoder(separators=(",", ":")).encode):
    """Writes an event as a JSON line (for the rare ones; the others are formatted)."""
    os.write(REPLY_FD, (encode(event) + "\n").encode())


def format_ready(run_id, pid, fds, fifos=False):
    """`ready`: U's pid in the zygote's pid namespace and the server's ends of its pipes; with
    `fifos`, the server opens them as named pipes in the run's working directory instead (see
    hand_over_fifos), and `fds` are U's ends."""
    return (b'{"type":"ready","id":"%s","pid":%d,"fds":{"stdin":%d,"stdout":%d,"stderr":%d,'
            b'"job":%d,"events":%d}%s}\n' % (run_id, pid, fds["stdin"], fds["stdout"],
                                               fds["stderr"], fds["job"], fds["events"],
                                               b',"fifos":true' if fifos else b""))


def format_exit(run_id, status, cpu, maxrss, alone):
    """`exit`: U's wait status and rusage (CPU seconds, peak KiB), and whether it was alone."""
    return b'{"type":"exit","id":"%s","status":%d,"cpu":%r,"maxrss":%d,"alone":%s}\n' % (
        run_id, status, cpu, maxrss, b"true" if alone else b"false")


def format_reaped(run_id, status):
    """`reaped`: every process of the run is gone (always last)."""
    return b'{"type":"reaped","id":"%s","status":%d}\n' % (run_id, status)


def format_swept(uid):
    """`swept`: every process of a run's uid has been sent SIGKILL (see mecha_plain_runs)."""
    return b'{"type":"swept","uid":%d}\n' % uid


def parse_request(line):
    """A request line as a dict (`op`, and `id`, for a fork also `disk`, `uid`, `cgroup`,
    `inotify`; or `uid` for a sweep); None if it is not one."""
    words = line.split()
    if len(words) == 2 and words[0] == b"sweep" and words[1].isdigit():
        return {"op": "sweep", "uid": int(words[1])}
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


# --- in U ----------------------------------------------------------------------------------


class Forked(BaseException):
    """Raised in U right after the fork: it leaves serve() for main(), which runs the program
    with none of the zygote's frames (and none of their bookkeeping) below it. `place` is what
    the kind's `program` needs of the zygote's (plain values, never its bookkeeping)."""

    def __init__(self, request, place):
        super().__init__()
        self.request = request
        self.place = place


def close_all_but(keep):
    """Closes every descriptor from 3 up but those in `keep` (close_range(2) on Linux, no /proc
    walk; elsewhere those /dev/fd lists, rather than a close() for every possible number)."""
    if not LINUX and os.path.isdir("/dev/fd"):
        for fd in [int(name) for name in os.listdir("/dev/fd") if name.isdigit()]:
            if fd >= 3 and fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass  # the listing's own descriptor, closed already
        return
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


def hand_over(run_id, pid, prepare):
    """In U: makes the run's pipes, its ends on 0-4, calls `prepare()` (what the program needs
    before its job, see bootstrap.Ready), tells the server where the server's ends are (`pid` is
    U's pid as the zygote sees it), waits for the job, and closes the server's ends. Returns
    what `prepare()` returned."""
    server_ends = {}
    for name, target, run_reads in (("stdin", 0, True), ("stdout", 1, False),
                                    ("stderr", 2, False), ("job", 3, True),
                                    ("events", 4, False)):
        r, w = os.pipe()
        run_end, server_end = (r, w) if run_reads else (w, r)
        # Both above 0-4 first: placing one run end on its number never closes another's.
        moved = fcntl.fcntl(run_end, fcntl.F_DUPFD, 10)
        server_ends[name] = fcntl.fcntl(server_end, fcntl.F_DUPFD, 10)
        os.close(r)
        os.close(w)
        os.dup2(moved, target)
        os.close(moved)
    prepared = prepare()
    os.write(REPLY_FD, format_ready(run_id, pid, server_ends))
    # The job comes once the server has placed U in the run's cgroup and opened its pipes
    # (nothing of the program starts before); a run abandoned before is killed waiting.
    select.select([3], [], [])
    for fd in server_ends.values():
        os.close(fd)
    os.close(REPLY_FD)
    return prepared


def hand_over_fifos(run_id, pid, prepare, directory):
    """hand_over where the server cannot open U's pipes through /proc/<pid>/fd (macOS): named
    pipes in the run's working directory, `directory`, opened by both sides, then removed. U
    opens its reading ends (stdin, job) first, without waiting, and reports ready; its writing
    ends (stdout, stderr, events) each wait until the server has opened that pipe to read
    (POSIX), the server's own opens never wait (O_NONBLOCK: each pipe's other end is open by
    then, or the open is a reading one). The program never sees the names: they are removed
    once both sides hold every pipe, before anything of the job is written."""
    paths = {name: os.path.join(directory, FIFO_PREFIX + name)
             for name in ("stdin", "stdout", "stderr", "job", "events")}
    for path in paths.values():
        os.mkfifo(path, 0o600)
    for name, target in (("stdin", 0), ("job", 3)):
        place_on(os.open(paths[name], os.O_RDONLY | os.O_NONBLOCK), target)
        os.set_blocking(target, True)
    os.write(REPLY_FD, format_ready(run_id, pid, {"stdin": 0, "stdout": 1, "stderr": 2, "job": 3,
                                                  "events": 4}, fifos=True))
    for name, target in (("stdout", 1), ("stderr", 2), ("events", 4)):
        place_on(os.open(paths[name], os.O_WRONLY), target)
    for path in paths.values():
        os.unlink(path)
    prepared = prepare()
    # The job comes once the server has placed U in the run's cgroup. U holds no writer of the
    # job's pipe here (unlike hand_over's): a server that closes it unwritten wakes U, which then
    # fails to read a job and runs nothing, as the server kills it.
    select.select([3], [], [])
    os.close(REPLY_FD)
    return prepared


def place_on(fd, target):
    """Makes `fd` descriptor number `target` (inheritable, as a standard stream is)."""
    if fd != target:
        os.dup2(fd, target)
        os.close(fd)
    else:
        os.set_inheritable(fd, True)


class Before:
    """sys.modules and the builtins' namespace as the zygote left them: what a run's
    finish_forked leaves alone. Made once, by the zygote (see main), so that no run copies them:
    copying writes the reference count of every module and builtin, a page copied per object."""

    __slots__ = ("modules", "builtins")

    def __init__(self):
        import builtins
        import sys

        self.modules = dict(sys.modules)
        self.builtins = dict(builtins.__dict__)


# The zygote's Before, made in main() before it serves: every run forked after finds it here.
BEFORE = None
# The end of a forked run (mecha_finish.py), loaded by main() before it serves.
FINISH = None


def before_job(workdir=None, new_session=True):
    """In U, before it reports `ready`: what does not need the job is done while the server has
    none for it yet. A session of its own, made here unless U made it already; `workdir`, unless
    U is there already."""
    if new_session:
        os.setsid()
    if workdir is not None:
        os.chdir(workdir)


def run_program(bootstrap, ready, exit=os._exit):
    """In U: the program, as `python3 main.py` would run it, through the bootstrap; then the
    end of a forked interpreter (see mecha_finish.finish_forked), against the zygote's BEFORE,
    and `exit` with its status. `ready` from bootstrap.Ready (through hand_over)."""
    program = None
    since = None
    try:
        program = bootstrap["start"](bootstrap["read_job"](), ready=ready)
        if isinstance(program, bootstrap["Program"]):
            # sys.modules and the builtins as the program finds them.
            since = FINISH["Since"](program.module)
        status, interrupted = program.run()
    except BaseException:  # noqa: BLE001 - the bootstrap itself failed: say why
        traceback.print_exc()
        status, interrupted = 1, False
    status = FINISH["finish_forked"](status, BEFORE.modules, BEFORE.builtins, since)
    # Once the program is wholly done (its files closed by its finalization too), before the
    # zygote reports its end.
    if program is not None:
        program.send_files()
    if interrupted:
        FINISH["die_of_sigint"]()
    exit(status)


# --- the zygote ------------------------------------------------------------------------------


def load_seccomp():
    """The seccomp filter the server passed on fd 5 (its BPF kept for the zygote's life: every
    run loads it from this address), or None when none was passed."""
    try:
        os.fstat(SECCOMP_IN)
    except OSError:
        # No filter passed: the server runs without one, and says so.
        return None
    from mecha_linux import read_seccomp

    return read_seccomp(SECCOMP_IN)


def ended_children():
    """Every child of the zygote's that has ended, reaped as it is taken: (pid, wait status,
    rusage); none left to wait for, or none ended yet, ends it."""
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status, usage


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


def trim_memory():
    """Gives the allocator's free pages back, so that no fork copies them (glibc only)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


def serve(kind, options, cgroup_parents):
    """The zygote's loop: requests from the server, each handed to the kind's `Runs`, made here
    so that nothing of it is in a frame U keeps. Raises Forked in each run's first process."""
    os.dup2(CONTROL_OUT, REPLY_FD)
    os.close(CONTROL_OUT)
    control = os.dup(CONTROL_IN)
    os.close(CONTROL_IN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    runs = kind.Runs(options, cgroup_parents)
    pending = b""
    gc.collect()
    gc.freeze()
    trim_memory()
    reply({"type": "hello", "pid": os.getpid()})
    while True:
        try:
            readable, _, _ = select.select([control, wake_r], [], [], runs.timeout())
        except InterruptedError:
            continue
        if wake_r in readable:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        runs.reap()
        if control not in readable:
            continue
        data = os.read(control, 65536)
        if not data:
            runs.end_all()
            os._exit(0)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = parse_request(line)
            if request is None:
                continue
            op = request["op"]
            if op == "fork":
                runs.fork(request)
            elif op == "kill":
                runs.kill(request["id"])
            elif op == "sweep":
                runs.sweep(request["uid"])


def load_bootstrap(path, startup_modules):
    """The bootstrap's definitions, made once here: each run only calls them."""
    import builtins

    bootstrap = {"__name__": "__mecha_bootstrap__", "__file__": path,
                 "__builtins__": builtins, "__cached__": None,
                 "STARTUP_MODULES": startup_modules}
    with open(path, "rb") as handle:
        exec(compile(handle.read(), path, "exec", dont_inherit=True), bootstrap)
    return bootstrap


def main(kind, options, here, startup_modules):
    """A zygote of `kind` (a module, see above), its files in `here`."""
    kind.start_up(options)
    seccomp = load_seccomp()
    seccomp_prog = None if seccomp is None else ctypes.addressof(seccomp)
    cgroup_parents = take_cgroup_parents()
    bootstrap = load_bootstrap(os.path.join(here, "bootstrap.py"), startup_modules)
    try:
        with open(os.path.join(here, "preload.json"), "rb") as handle:
            names = json.loads(handle.read())
    except FileNotFoundError:
        names = []
    # After STARTUP_MODULES, so that a program's own file of one of these names still wins
    # (see unshadow in bootstrap.py); before serve() freezes what the zygote holds.
    bootstrap["preload"](names)
    once = bootstrap["Once"]()
    global BEFORE, FINISH
    FINISH = bootstrap["_load"]("mecha_finish.py")
    BEFORE = Before()
    try:
        serve(kind, options, cgroup_parents)
    except Forked as forked:
        request, place = forked.request, forked.place
    # In U, with serve()'s frames gone (with the exception that held them).
    try:
        kind.program(request, place, bootstrap, once, seccomp_prog, cgroup_parents)
    except BaseException as error:  # noqa: BLE001
        report_failure(request, error)
    os._exit(126)
