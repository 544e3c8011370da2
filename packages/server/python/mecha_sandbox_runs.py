"""Runs of the sandboxed zygote (see zygote.py): each forked into namespaces of its own.

The zygote lives inside bubblewrap (its own user namespace, where it is uid 0 with every
capability, mapped to an unprivileged host uid; its own pid, net, ipc and uts namespaces; the
system read-only; pid 1 of its pid namespace). Per run, the run's init is cloned as pid 1 of a
new pid namespace (see Inits), and the zygote forks U, the program's first process, into it
(pid 2). U leaves the zygote's other namespaces for the run's own (see mecha_isolation.py),
then drops every capability, sets no_new_privs and loads the seccomp filter.

The zygote ends a run by killing its init: the kernel then kills everything else in the run's
pid namespace. When U is reaped the zygote answers `exit`; if U left nothing running (`alone`)
the zygote ends the run's init at once. Once the init is reaped (the kernel lets it go only when
every other process of the run is gone) it answers `reaped`.
"""

import ctypes
import os
import signal

import _signal

from mecha_inits import Inits, check_platform
from mecha_isolation import WORKDIR, Nets, isolate, join_cgroups
from mecha_linux import (
    CLONE_NEWNS, CLONE_NEWPID, CLONE_PARENT, CLONE_VM, PR_SET_DUMPABLE, check, drop_privileges,
    libc,
)
from mecha_zygote import (
    MAX_FD, REPLY_FD, Forked, before_job, close_all_but, ended_children, format_exit,
    format_reaped, hand_over, reply, report_failure, run_program,
)


def start_up(options):
    """Before the zygote does anything else."""
    # Not dumpable, whatever the host's fs.suid_dumpable: with ptrace rights only over the
    # zygote's user namespace may anyone read its memory or open its descriptors through /proc,
    # and each run's init, a clone sharing both, is the pid 1 its program sees.
    check(libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "dumpable")
    # Where the init clone was not written for this system, the zygote does not start, and says why.
    check_platform()


def program(request, place, bootstrap, once, seccomp_prog, cgroup_parents):
    """U: joins its cgroups, isolates itself, drops every privilege, reports, waits for its job, runs."""
    join_cgroups(request, cgroup_parents)
    # Its cgroup may be kept from an earlier run, and named after it: nothing of that stays.
    request.pop("cgroup", None)
    # Its pid in the zygote's pid namespace, read from the zygote's /proc before the run's own
    # is mounted: the server finds the run's host pid from it.
    outer_pid = int(os.readlink("/proc/self"))
    isolate(request, place)
    # Everything that does not need the job is done before U reports `ready`.
    drop_privileges(seccomp_prog)
    before_job(WORKDIR)
    # The network of every job here (as the server's runNetwork says): the filter's AF_UNIX only.
    network = "none" if seccomp_prog is None else "unix"
    ready = hand_over(request["id"], outer_pid,
                      lambda: bootstrap["Ready"](once, rehearse=True, network=network))
    first = os.getpid()

    def end(status):
        # U's own end only: a process the program forked that ends here ends as under CPython.
        if os.getpid() == first:
            exit_leaving_memory(status)
        os._exit(status)

    run_program(bootstrap, ready, exit=end)


# Where the clone that keeps an ended program's memory starts, and its stack (it only ever
# waits in pause()): made once, in the zygote, so that no run makes them as its program ends.
KEEPER_ENTRY = ctypes.cast(libc.pause, ctypes.c_void_p)
KEEPER_STACK = ctypes.create_string_buffer(16384)
KEEPER_STACK_TOP = (ctypes.addressof(KEEPER_STACK) + len(KEEPER_STACK)) & ~15
# Every signal, 32 and 33 (glibc's own, which pthread_sigmask leaves unblocked) included, for
# rt_sigprocmask itself (x86-64, AArch64: where check_platform lets the zygote start).
SYS_RT_SIGPROCMASK = {"x86_64": 14, "aarch64": 135}.get(os.uname().machine)
EVERY_SIGNAL = ctypes.c_uint64(2**64 - 1)


def exit_leaving_memory(status):
    """U's exit, its memory left to a clone that holds it until the run's pid namespace ends.

    Tearing down the address space of an interpreter forked from the zygote (every page table
    it copied, every page it wrote) is most of a process's exit: done by U's exit, it stood
    between the program's end and the zygote's `exit` (about 0.5 ms of every run). Here U closes
    every descriptor (its output ends now, as it would as it exits) and clones a process that
    shares its memory and waits in pause() with every signal blocked; then U exits at once. It
    has none of U's descriptors, unless a thread of the program still running hands it one as
    it is made: its output then ends when it is killed, below. The clone is the zygote's child
    (CLONE_PARENT), so the init's children, and what `alone` says, are as before. It is in the
    run's pid namespace, cgroup, user and seccomp filter: killing the run's init, as the zygote
    does as it reports the run's end, kills it, and its exit tears the memory down beside the
    server's answer rather than before it. Where it cannot be made (the run's process limit
    reached), U tears its memory down itself."""
    try:
        # As close_all_but does (one close_range where the interpreter has it).
        os.closerange(0, MAX_FD)
        long = ctypes.c_long
        if SYS_RT_SIGPROCMASK is None or libc.syscall(
                long(SYS_RT_SIGPROCMASK), long(_signal.SIG_BLOCK), ctypes.byref(EVERY_SIGNAL),
                None, long(8)) != 0:
            return
        libc.clone(KEEPER_ENTRY, KEEPER_STACK_TOP, CLONE_VM | CLONE_PARENT | _signal.SIGCHLD, None)
    finally:
        os._exit(status)


class Run:
    """A run as the zygote keeps it: its init, its program, and what goes back when both end."""

    __slots__ = ("id", "init", "program", "net_fd", "init_status")

    def __init__(self, run_id, init, net_fd):
        self.id = run_id
        self.init = init
        self.program = None
        self.net_fd = net_fd
        self.init_status = None


class Runs:
    """The runs of a sandboxed zygote: each its own pid namespace, network and init."""

    def __init__(self, options, cgroup_parents):
        self.cgroup_parents = cgroup_parents
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.mnt_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
        self.nets = Nets()
        self.inits = Inits()
        self.runs = {}  # pid (init or program) -> Run
        self.by_id = {}  # run id -> Run, until its init is reaped

    def timeout(self):
        return None

    def fork(self, request):
        """Starts a run: its init as pid 1 of a new pid namespace, then its program (U) as pid 2."""
        run_id = request.get("id")
        try:
            net_fd = self.nets.take()
        except OSError as error:
            reply({"type": "failed", "id": run_id.decode(), "message": str(error)})
            return
        run = None
        pid = None
        try:
            # The zygote's next children are created in a new pid namespace (the init first, as
            # its pid 1, then the program) and a new mount namespace: the init is in the run's
            # mount namespace too, so it, not U, holds it last, and tearing it down (which waits
            # for an RCU grace period) is the init's once the run has ended, not U's as the
            # program exits. The zygote itself, and its later children, are again in its own.
            check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare(mnt, pid)")
            try:
                run = Run(run_id, self.inits.start(), net_fd)
                self.runs[run.init] = run
                self.by_id[run_id] = run
                pid = os.fork()
            finally:
                if pid != 0:
                    check(libc.setns(self.pid_ns, CLONE_NEWPID), "setns(pid)")
                    check(libc.setns(self.mnt_ns, CLONE_NEWNS), "setns(mnt)")
        except OSError as error:
            if run is None:
                self.nets.give_back(net_fd)
            else:
                # Gives the network back once the init is reaped.
                os.kill(run.init, signal.SIGKILL)
            reply({"type": "failed", "id": run_id.decode(), "message": str(error)})
            return
        if pid == 0:
            try:
                signal.set_wakeup_fd(-1)
                _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
                close_all_but({REPLY_FD, net_fd, *self.cgroup_parents})
            except BaseException as error:  # noqa: BLE001
                report_failure(request, error)
                os._exit(126)
            raise Forked(request, net_fd)
        run.program = pid
        self.runs[pid] = run

    def kill(self, run_id):
        # By the zygote, which reaps its children: never a pid already reused.
        run = self.by_id.get(run_id)
        if run is not None and self.runs.get(run.init) is run:
            kill_init(run)

    def sweep(self, uid):
        """Only for runs without namespaces (see mecha_plain_runs): a run here is its pid
        namespace, which ends whole."""

    def end_all(self):
        """Only for runs without namespaces (see mecha_plain_runs): here bubblewrap ends the
        zygote, and with it every run, when the server goes (--die-with-parent)."""

    def reap(self):
        """Reaps every child that has ended and reports the runs they belong to: a program's end
        (`exit`) as soon as it is reaped, the run's (`reaped`) once its init is, always last."""
        for pid, status, usage in ended_children():
            run = self.runs.pop(pid, None)
            if run is None:
                continue
            if pid == run.program:
                run.program = None
                alone = run.init_status is not None or not has_children(run.init)
                os.write(REPLY_FD, format_exit(run.id, status, usage.ru_utime + usage.ru_stime,
                                               usage.ru_maxrss, alone))
                if run.init_status is not None:
                    self.ended(run)
                elif alone:
                    # Nothing else of the run is left: it has wholly ended.
                    kill_init(run)
            else:
                # The kernel lets the init go only once every other process of the run is gone.
                run.init_status = status
                self.inits.reaped(pid)
                if run.program is None:
                    self.ended(run)

    def ended(self, run):
        if self.by_id.get(run.id) is run:
            del self.by_id[run.id]
        os.write(REPLY_FD, format_reaped(run.id, run.init_status))
        self.nets.give_back(run.net_fd)


def has_children(pid):
    """Whether a process (a run's init) has a child left: the orphans of a run are its init's."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), "rb") as listing:
            return bool(listing.read().strip())
    except OSError:
        return False


def kill_init(run):
    try:
        os.kill(run.init, signal.SIGKILL)
    except OSError:
        pass
