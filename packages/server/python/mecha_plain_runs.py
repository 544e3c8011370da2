"""Runs of the plain zygote (see zygote.py): forked without namespaces, where bubblewrap is
missing or not wanted (`sandbox: "none"`).

The zygote runs as the server's user, started directly by the server (no bubblewrap). Each run
is U, forked from it, with the layers that need no namespace: a session and process group of
its own, made at once; its cgroups (it joins cgroup v1 ones itself, before anything else; on
cgroup v2 the server moves it); when the server is root, a uid of its own from the range the
server claimed (the zygote keeps four capabilities, which U drops from its bounding set before
it takes the uid, so none is left); on Linux, no_new_privs and the seccomp filter the server
passed (one that leaves the host's network to the run: see seccomp_filter.py); then a working
and a temporary directory of its own, which the server made under its state directory
(`<runs>/<id>` and `<runs>/<id>.tmp`, the run's uid's, 0700) and which $HOME and $TMPDIR
name. What the run can still reach is in docs/security.md.

Ending a run: its process group. When U is reaped the zygote answers `exit`, `alone` when
nothing is left in U's process group; else it looks again whenever a child of its ends (on
Linux it is the subreaper of everything its runs leave behind) and every LINGER seconds, and
answers `reaped` once the group is empty. `kill <id>` kills U and its process group. A process
that leaves the group (setsid, setpgid) is out of its reach: the server's cgroup ends it where
there is one, and where there is none but the run has a uid of its own, `sweep <uid>` kills
every process of that uid (a child of the zygote takes the uid and sends SIGKILL to every
process it may signal, kill(-1), until none is left), answered `swept`, before the uid goes
to another run.
"""

import os
import resource
import signal
import sys
import time

import _signal

from mecha_zygote import (
    LINUX, REPLY_FD, Forked, before_job, close_all_but, ended_children, format_exit,
    format_reaped, format_swept, hand_over, hand_over_fifos, reply, report_failure, run_program,
)

# getrusage's ru_maxrss: KiB, but bytes on macOS.
MAXRSS_IN_BYTES = sys.platform == "darwin"
# What a zygote running as root keeps (Linux's numbers): CAP_KILL (its runs have other uids),
# CAP_SETGID and CAP_SETUID (it gives them), CAP_SETPCAP (each run drops these from its
# bounding set). It can mount, trace, bypass file permissions and configure nothing.
ZYGOTE_CAPABILITIES = (5, 6, 7, 8)
# How often runs whose first process has ended while their process group had not are looked at.
LINGER = 0.05
# How long a sweep goes on killing, until no process of the uid is left (zombies included).
SWEEP_SECONDS = 2.0


def parse_options(argv):
    """`<runs directory> <first uid> <uids>` ("-" "-": runs have the zygote's uid)."""
    runs, start, size = argv
    uids = None if start == "-" else (int(start), int(size))
    return {"runs": runs, "uids": uids}


def start_up(options):
    """Before the zygote does anything else."""
    if not LINUX:
        return
    from mecha_linux import (
        PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, check, keep_capabilities, libc,
    )

    if os.getuid() == 0:
        # As root, only what giving runs their uids takes (and dropping these from each run).
        keep_capabilities(ZYGOTE_CAPABILITIES)
    # Not dumpable: a run with the zygote's uid can neither trace it nor open its descriptors.
    check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    # It dies with the server; every orphan of its runs becomes its child, and is reaped.
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    check(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")


def run_paths(runs, run_id):
    """A run's working and temporary directories (made by the server, see PlainZygote)."""
    work = os.path.join(runs, run_id)
    return work, work + ".tmp"


def program(request, place, bootstrap, once, seccomp_prog, cgroup_parents):
    """U: joins its cgroups, takes its directories and uid, reports, waits for its job, runs."""
    if cgroup_parents:
        from mecha_isolation import join_cgroups

        join_cgroups(request, cgroup_parents)
    request.pop("cgroup", None)
    work, tmp = run_paths(place["runs"], request["id"].decode())
    become(request.get("uid"), seccomp_prog)
    # Its own directory (0700) as its own uid: the zygote may not enter it.
    os.chdir(work)
    if os.getppid() != place["zygote"]:
        # The zygote died before U could die with it: nothing would ever end this run.
        os._exit(126)
    os.environ["HOME"] = work
    os.environ["TMPDIR"] = tmp
    if "MPLCONFIGDIR" in os.environ:
        os.environ["MPLCONFIGDIR"] = os.path.join(tmp, "matplotlib")
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = None
    before_job(new_session=False)
    # The network of every job here (as the server's runNetwork says): the host's.
    prepare = lambda: bootstrap["Ready"](once, rehearse=True, network="host")  # noqa: E731
    if LINUX:
        ready = hand_over(request["id"], os.getpid(), prepare)
    else:
        # No /proc/<pid>/fd for the server to open U's pipes through (macOS): named pipes.
        ready = hand_over_fifos(request["id"], os.getpid(), prepare, work)
    run_program(bootstrap, ready)


def become(uid, seccomp_prog):
    """In U: the run's uid (given when the zygote is root, and then required), then no way to
    gain a privilege, and the seccomp filter."""
    if uid is None and os.getuid() == 0:
        raise PermissionError("a run of a zygote running as root needs a uid of its own")
    if LINUX:
        from mecha_linux import PR_SET_DUMPABLE, PR_SET_PDEATHSIG, check, drop_bounding_set, libc
    if uid is not None:
        if LINUX:
            # The zygote kept only these; without CAP_SETPCAP (the last) no more can be dropped.
            drop_bounding_set(ZYGOTE_CAPABILITIES)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            raise PermissionError("could not take uid %d" % uid)
    if not LINUX:
        return
    from mecha_linux import drop_privileges

    # An ordinary process of its uid, as `python3 main.py` is (a change of uid made it
    # undumpable), so that the server, the same uid or root, opens its pipes in /proc.
    check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    # The first process dies with the zygote (a change of uid clears this: set after it).
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    drop_privileges(seccomp_prog, bounding=False)


def last_of_its_uid():
    """In a sweeper (RLIMIT_NPROC 2): whether no other process of its uid is left, zombies
    included. kill(-1) cannot say: Linux answers it with success whenever another process is on
    the host at all, whether it may signal it or not (ESRCH only on an empty host), so the sweep
    went on to its deadline. fork() under the limit can: the kernel counts a uid's processes,
    and refuses one more (EAGAIN) while another is left."""
    try:
        child = os.fork()
    except BlockingIOError:
        return False
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    return True


class Run:
    """A run as the zygote keeps it: U's pid (its process group's too) and its wait status."""

    __slots__ = ("id", "pid", "status")

    def __init__(self, run_id, pid):
        self.id = run_id
        self.pid = pid
        self.status = None


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


class Runs:
    """The runs of a plain zygote: each U's process group, and the uid sweeps asked for."""

    def __init__(self, options, cgroup_parents):
        self.runs = options["runs"]
        self.uids = options["uids"]
        self.cgroup_parents = cgroup_parents
        self.programs = {}  # U's pid -> Run, until U is reaped
        self.by_id = {}  # run id -> Run, until its process group is empty
        self.lingering = {}  # run id -> Run whose U is reaped and whose group is not empty
        self.sweepers = {}  # pid -> the uid it sweeps

    def timeout(self):
        return LINGER if self.lingering else None

    def owns(self, uid):
        """Whether `uid` is one of the runs' (never 0, never the zygote's)."""
        if self.uids is None or uid == 0 or uid == os.getuid():
            return False
        start, size = self.uids
        return start <= uid < start + size

    def fork(self, request):
        run_id = request["id"]
        uid = request["uid"]
        if (uid is not None and not self.owns(uid)) or run_id in self.by_id:
            reply({"type": "failed", "id": run_id.decode(), "message": "not a run's uid or id"})
            return
        pid = os.fork()
        if pid == 0:
            try:
                signal.set_wakeup_fd(-1)
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                close_all_but({REPLY_FD, *self.cgroup_parents})
                # Its own session and process group from the start, so that a kill reaches
                # whatever it forks from its first instruction on.
                os.setsid()
            except BaseException as error:  # noqa: BLE001
                report_failure(request, error)
                os._exit(126)
            raise Forked(request, {"runs": self.runs, "zygote": os.getppid()})
        run = Run(run_id, pid)
        self.programs[pid] = run
        self.by_id[run_id] = run

    def kill(self, run_id):
        run = self.by_id.get(run_id)
        if run is None:
            return
        if self.programs.get(run.pid) is run:
            # Not reaped: its pid, and so its group's id, is still its own.
            try:
                os.kill(run.pid, signal.SIGKILL)
            except OSError:
                pass
        elif self.programs.get(run.pid) is not None:
            # Its pid has gone to another run's first process: its group is empty.
            return
        try:
            os.killpg(run.pid, signal.SIGKILL)
        except OSError:
            pass

    def sweep(self, uid):
        if not self.owns(uid):
            return
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                # Its uid's processes, this one included, counted as fork() counts them; where
                # the limit cannot be set, the sweep goes on to its deadline.
                try:
                    resource.setrlimit(resource.RLIMIT_NPROC, (2, 2))
                    counted = True
                except (ValueError, OSError):
                    counted = False
                # Every process this uid may signal, that is every process of the run's uid,
                # but this one; never anything as the zygote's own uid. Again until none is
                # left: a killed process counts until it is reaped, which the zygote, the
                # subreaper of whatever runs leave, does meanwhile.
                deadline = time.monotonic() + SWEEP_SECONDS
                while os.getuid() == uid and os.geteuid() == uid:
                    os.kill(-1, signal.SIGKILL)
                    if (counted and last_of_its_uid()) or time.monotonic() > deadline:
                        break
                    time.sleep(0.002)
            except BaseException:  # noqa: BLE001, S110 - ProcessLookupError: none is left
                pass
            os._exit(0)
        self.sweepers[pid] = uid

    def reap(self):
        """Reaps every child that has ended: a run's U (`exit`, and `reaped` once its group is
        empty), a sweeper (`swept`), or an orphan a run left (nothing to say)."""
        ended = []
        for pid, status, usage in ended_children():
            run = self.programs.pop(pid, None)
            if run is not None:
                run.status = status
                ended.append((run, usage.ru_utime + usage.ru_stime, usage.ru_maxrss))
                continue
            uid = self.sweepers.pop(pid, None)
            if uid is not None:
                os.write(REPLY_FD, format_swept(uid))
        # Once every child that had ended is reaped: an orphan of a run's, reaped here, is no
        # longer in its group.
        for run in [run for run in self.lingering.values() if not group_alive(run.pid)]:
            self.ended(run)
        for run, cpu, maxrss in ended:
            alone = not group_alive(run.pid)
            if MAXRSS_IN_BYTES:
                maxrss //= 1024
            os.write(REPLY_FD, format_exit(run.id, run.status, cpu, maxrss, alone))
            if alone:
                self.ended(run)
            else:
                self.lingering[run.id] = run

    def end_all(self):
        """The server is gone (its end of the control pipe closed): every run's process group is
        killed before the zygote exits. On Linux the zygote dies with the server first
        (PR_SET_PDEATHSIG) and each run's first process with it; elsewhere this ends them."""
        for run in list(self.by_id.values()):
            try:
                os.killpg(run.pid, signal.SIGKILL)
            except OSError:
                pass

    def ended(self, run):
        self.lingering.pop(run.id, None)
        if self.by_id.get(run.id) is run:
            del self.by_id[run.id]
        os.write(REPLY_FD, format_reaped(run.id, run.status))
