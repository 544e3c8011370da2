"""Mecha's zygote: one warm interpreter that forks a fresh, isolated process tree per run.

Started by the server inside bubblewrap (its own user namespace, where it is uid 0 with every
capability, mapped to an unprivileged host uid; its own pid, net, ipc and uts namespaces; the
system read-only; pid 1 of its pid namespace) as `python3 -E -s -u zygote.py`. It never runs a
program itself. It reads the seccomp filter (BPF) from fd 5, then serves requests read from fd 3
as JSON lines and answers on fd 4 (JSON lines, each one write(2), so lines never interleave):

  {"op": "fork", "id", "disk", "uid"?}
                                -> G is forked as pid 1 of a new pid namespace, and the zygote
      answers {"type": "forked", "id", "pid"} (G's pid in the zygote's pid namespace). G forks
      U at once (pid 2). U isolates itself and answers {"type": "ready", "id", "pid", "fds":
      {"stdin", "stdout", "stderr", "job", "events"}} (U's pid in the zygote's pid namespace),
      then waits. The server moves U (by its host pid) into the run's cgroup and opens U's ends
      of the run's pipes through /proc/<pid>/fd, then sends
  {"op": "go", "id"}            -> U closes the server's ends, drops every privilege and runs the
      bootstrap, and so the program ({"op": "abort", "id"} instead makes U exit).
  {"op": "kill", "id"}          -> the zygote kills G, and the kernel the rest of the run.
  Once G is gone the zygote answers {"type": "exit", "id", "status", "cpu", "maxrss"} (U's wait4
  status and rusage, which G reported over a pipe of the run's own) when G reported them, then
  {"type": "reaped", "id", "status"} (always last).

Per run, U leaves the zygote's namespaces: a network namespace no other running run is in (see
Nets), a private mount namespace with a /proc of the run's pid namespace, the run's own uid when
the server gave one (as root, the server maps a host uid of its own to each run), then a user
namespace of its own (uid 1000 only, that uid outside) with new mount, ipc, uts and cgroup
namespaces, fresh size-capped tmpfs on /workspace, /tmp and /dev/shm, a devpts instance of its
own, and bubblewrap's read-only covers on /proc. Then U drops every capability (bounding and
ambient sets too), sets no_new_privs, loads the seccomp filter and runs the bootstrap (and so
the program) in a session of its own. G only reaps: when U ends, G reports and exits, and the
kernel kills whatever else is left in the run's pid namespace. U's last step writes an
`exited` event (its status) on the events pipe and closes its streams, so the server can answer
before the kernel has torn U down.
"""

import builtins
import ctypes
import fcntl
import gc
import json
import os
import select
import signal
import sys
import traceback
import types  # noqa: F401 - preloaded for the bootstrap
import resource  # noqa: F401 - preloaded for the bootstrap

CONTROL_IN = 3
CONTROL_OUT = 4
SECCOMP_IN = 5
# The zygote's own descriptors live high so that 0-4 are free for each run's standard streams.
REPLY_FD = 100
MAX_FD = 65536
# Files (and hard links) per tmpfs of a run: /workspace, /tmp and /dev/shm.
MAX_INODES = 65536
BOOTSTRAP = "/opt/mecha/bootstrap.py"
WORKDIR = "/workspace"
UID = 1000
GID = 1000

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
    check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                     flags, data and data.encode()), "mount %s" % target)


def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        try:
            os.write(fd, text.encode())
        except OSError as error:
            raise OSError(error.errno, "%s: %s" % (path, error.strerror)) from None
    finally:
        os.close(fd)


def reply(event):
    os.write(REPLY_FD, (json.dumps(event, separators=(",", ":")) + "\n").encode())


def report_failure(request, error):
    """Tells the server why a run could not be set up (its last line of traceback included)."""
    try:
        reply({"type": "failed", "id": request.get("id"),
               "message": "%s: %s (%s)" % (
                   type(error).__name__, error,
                   traceback.format_exc(limit=-1).strip().splitlines()[1])})
    except OSError:
        pass


# --- the run: G (pid 1 of its own pid namespace) and U (the program) ----------------------


def isolate(request, net_fd):
    """In U: leave the zygote's namespaces (but the pid one, G's) for the run's own."""
    # A network namespace with no interface up: made for this run, or kept from a run that has
    # wholly ended and left no socket behind (see Nets); held by the zygote's user namespace,
    # where the run has no capability, so nothing in it can be configured from inside.
    check(libc.setns(net_fd, CLONE_NEWNET), "setns(net)")
    os.close(net_fd)
    # In the zygote's user namespace still: a private mount namespace and a /proc of the run's
    # pid namespace (a pid namespace the zygote's user namespace owns, so mounted from here).
    check(libc.unshare(CLONE_NEWNS), "unshare(mount)")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # The run's own uid in the zygote's user namespace when the server gave it one (as root, the
    # server maps each to a host uid of its own); else the zygote's.
    uid = request.get("uid")
    if isinstance(uid, int) and uid > 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # A change of uid makes a process undumpable, and its /proc files root's: it could then
        # not write its own uid map below.
        check(libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")
    # The run's own user namespace (uid 1000 only); the mounts above are locked in it.
    outer_uid, outer_gid = os.getuid(), os.getgid()
    check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP),
          "unshare(run)")
    write_file("/proc/self/setgroups", "deny")
    # uid 1000 of the run is its uid outside (unprivileged on the host); nothing else is mapped,
    # so the run has no root of any kind.
    write_file("/proc/self/uid_map", "%d %d 1\n" % (UID, outer_uid))
    write_file("/proc/self/gid_map", "%d %d 1\n" % (GID, outer_gid))
    try:
        # No user namespaces below this one (as bubblewrap's --disable-userns).
        write_file("/proc/sys/user/max_user_namespaces", "0")
    except OSError:
        pass
    # The same covers bubblewrap puts on its /proc.
    for name in ("sys", "sysrq-trigger", "irq", "bus"):
        path = "/proc/" + name
        if not os.path.exists(path):
            continue
        mount(path, path, None, MS_BIND | MS_REC)
        mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    size = int(request.get("disk") or (64 << 20))
    flags = MS_NOSUID | MS_NODEV
    # The inode cap (hard links count too) bounds the work of unmounting them, which the server's
    # hold on the run's mount namespace leaves to a server thread once the run has answered.
    caps = "size=%d,nr_inodes=%d" % (size, MAX_INODES)
    mount("tmpfs", WORKDIR, "tmpfs", flags, "%s,mode=0755,uid=%d,gid=%d" % (caps, UID, GID))
    mount("tmpfs", "/tmp", "tmpfs", flags, "%s,mode=1777" % caps)
    mount("tmpfs", "/dev/shm", "tmpfs", flags, "%s,mode=1777" % caps)
    # Terminals of its own (/dev/ptmx points into /dev/pts), as bubblewrap's --dev gives a run.
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    name = (request.get("hostname") or "sandbox").encode()
    check(libc.sethostname(name, len(name)), "sethostname")


def drop_privileges(seccomp_prog):
    """In G: no capabilities at all, no way to gain any, and the seccomp filter."""
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "capbset drop")
    check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient clear")
    header = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (CapData * 2)()
    check(libc.capset(ctypes.byref(header), data), "capset")
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if seccomp_prog is not None:
        buffer, count = seccomp_prog
        prog = SockFprog(count, ctypes.cast(buffer, ctypes.c_void_p))
        check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0),
              "seccomp")


def exit_status(code):
    """The exit status CPython gives an uncaught SystemExit carrying `code`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:  # noqa: BLE001
        pass
    return 1


def finalize(status):
    """What the interpreter does at exit: join threads, run atexit, flush the streams."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:  # noqa: BLE001
            pass
    try:
        import atexit

        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            if status == 0:
                status = 120
    # The program is done: say so, and close its streams, before the kernel tears the process
    # down (unmapping a forked interpreter's pages takes longer than anything above). The
    # server then answers at once, and ends the run's init, which ends whatever is left.
    try:
        os.write(4, b'{"type": "exited", "status": %d}\n' % (status & 0xFF))
    except OSError:
        pass
    for fd in range(5):
        try:
            os.close(fd)
        except OSError:
            pass
    os._exit(status)


def run_program(bootstrap_code):
    """In U: the bootstrap, exactly as `python3 -E -s -u bootstrap.py` would run it."""
    # Nothing a run draws at random may repeat in another run forked from the same zygote.
    if "random" in sys.modules:
        sys.modules["random"].seed()
    os.setsid()
    os.chdir(WORKDIR)
    status = 0
    scope = {"__name__": "__mecha_bootstrap__", "__file__": BOOTSTRAP, "__builtins__": builtins,
             "__cached__": None}
    # The bootstrap gives back the depth of the frames below the program; exec() here costs one
    # more level than the interpreter's own start of a script does.
    sys.setrecursionlimit(sys.getrecursionlimit() + 1)
    try:
        exec(bootstrap_code, scope)
    except SystemExit as exit_:
        status = exit_status(exit_.code)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        status = 1
    finalize(status)


def close_all_but(keep):
    """Closes every descriptor from 3 up but those in `keep` (close_range(2), no /proc walk)."""
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


def program(request, go_r, net_fd, bootstrap_code, seccomp_prog):
    """U: isolates itself, reports, waits for the server's go, drops every privilege, runs."""
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
    reply({"type": "ready", "id": run_id, "pid": outer_pid,
           "fds": {name: server for name, (_, server, _) in pipes.items()}})
    if os.read(go_r, 1) != b"1":
        os._exit(1)
    os.close(go_r)
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
    run_program(bootstrap_code)


def init(request, go_r, status_w, net_fd, bootstrap_code, seccomp_prog):
    """G: pid 1 of the run's pid namespace. Forks U at once, then only reaps until U ends.

    G stays in the zygote's other namespaces and runs next to no Python of its own (each page a
    forked interpreter writes is copied, so U alone does the run's set-up). G belongs to a user
    namespace the run has no capability in, so the program cannot trace G or open what /proc
    guards with ptrace rights (/proc/1/root, environ, mem, fd/N, ns/*); as the init of its pid
    namespace G ignores every signal sent from inside it. When the server is not root, G and the
    program share a host uid: the program may then list /proc/1/fd or change G's rlimits,
    oom_score_adj or autogroup niceness, which touches its own run only, as G holds a session
    (and so an autogroup) of its own.
    """
    os.setsid()
    close_all_but({REPLY_FD, go_r, status_w, net_fd})
    try:
        pid = os.fork()
    except OSError as error:
        reply({"type": "failed", "id": request.get("id"), "message": "fork: %s" % error})
        os._exit(126)
    if pid == 0:
        os.close(status_w)
        try:
            program(request, go_r, net_fd, bootstrap_code, seccomp_prog)
        except BaseException as error:  # noqa: BLE001
            report_failure(request, error)
        os._exit(126)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    close_all_but({status_w})
    for fd in range(3):
        os.close(fd)
    while True:
        try:
            reaped, status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if reaped == pid:
            os.write(status_w, json.dumps([status, usage.ru_utime + usage.ru_stime,
                                           usage.ru_maxrss]).encode())
            # The kernel ends every other process of the run with its pid 1.
            os._exit(0)


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
                with open("/proc/self/net/unix", "rb") as handle:
                    clean = len(handle.read().splitlines()) <= 1
            except OSError:
                pass
            check(libc.setns(self.home, CLONE_NEWNET), "setns(net)")
        if clean:
            self.free.append(fd)
        else:
            os.close(fd)


# --- the zygote --------------------------------------------------------------------------


def read_report(fd):
    """G's end report, read (closing fd) once G is gone; None when there is none that parses.

    The program could have written to this pipe too (it runs as G's uid), so it is read with
    a bound and trusted for this one run only, as anything else the program says of itself.
    """
    try:
        os.set_blocking(fd, False)
        data = os.read(fd, 4096)
    except OSError:
        data = b""
    finally:
        os.close(fd)
    try:
        status, cpu, maxrss = json.loads(data)
        return {"status": int(status), "cpu": float(cpu), "maxrss": int(maxrss)}
    except (ValueError, TypeError):
        return None


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
    return buffer, len(data) // 8


def serve():
    os.dup2(CONTROL_OUT, REPLY_FD)
    os.close(CONTROL_OUT)
    control = os.dup(CONTROL_IN)
    os.close(CONTROL_IN)
    seccomp_prog = load_seccomp()
    pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
    with open(BOOTSTRAP, "rb") as handle:
        bootstrap_code = compile(handle.read(), BOOTSTRAP, "exec", dont_inherit=True)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    nets = Nets()
    runs = {}  # pid -> id
    statuses = {}  # pid -> read end of the run's end-report pipe
    run_nets = {}  # pid -> the run's network namespace
    gos = {}  # id -> write end of the go pipe
    pending = b""
    gc.collect()
    gc.freeze()
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
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            run_id = runs.pop(pid, None)
            if run_id is not None:
                go = gos.pop(run_id, None)
                if go is not None:
                    os.close(go)
                report = read_report(statuses.pop(pid))
                if report is not None:
                    reply(dict(report, type="exit", id=run_id))
                reply({"type": "reaped", "id": run_id, "status": status})
                nets.give_back(run_nets.pop(pid))
        if control not in readable:
            continue
        data = os.read(control, 65536)
        if not data:
            os._exit(0)
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                request = json.loads(line)
            except ValueError:
                continue
            op = request.get("op")
            if op == "fork":
                opened = []
                try:
                    net_fd = nets.take()
                    opened.append(net_fd)
                    go_r, go_w = os.pipe()
                    opened += [go_r, go_w]
                    status_r, status_w = os.pipe()
                    opened += [status_r, status_w]
                    # The child is pid 1 of a pid namespace of its own; the zygote's children
                    # after it are again created in the zygote's.
                    check(libc.unshare(CLONE_NEWPID), "unshare(pid)")
                except OSError as error:
                    # Out of descriptors or namespaces, say: this run fails, the zygote goes on.
                    for fd in opened:
                        os.close(fd)
                    reply({"type": "failed", "id": request.get("id"), "message": str(error)})
                    continue
                try:
                    pid = os.fork()
                except OSError as error:
                    check(libc.setns(pid_ns, CLONE_NEWPID), "setns(pid)")
                    for fd in opened[1:]:
                        os.close(fd)
                    nets.give_back(net_fd)
                    reply({"type": "failed", "id": request.get("id"),
                           "message": "fork: %s" % error})
                    continue
                if pid != 0:
                    check(libc.setns(pid_ns, CLONE_NEWPID), "setns(pid)")
                if pid == 0:
                    try:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        init(request, go_r, status_w, net_fd, bootstrap_code, seccomp_prog)
                    except BaseException as error:  # noqa: BLE001
                        report_failure(request, error)
                    os._exit(126)
                os.close(go_r)
                os.close(status_w)
                statuses[pid] = status_r
                run_nets[pid] = net_fd
                runs[pid] = request.get("id")
                gos[request.get("id")] = go_w
                reply({"type": "forked", "id": request.get("id"), "pid": pid})
            elif op == "kill":
                # By the zygote, which reaps its children: never a pid already reused.
                for pid, run_id in runs.items():
                    if run_id == request.get("id"):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
            elif op in ("go", "abort"):
                # Closing the go pipe unsent makes U exit before anything of the run starts.
                go = gos.pop(request.get("id"), None)
                if go is not None:
                    if op == "go":
                        try:
                            os.write(go, b"1")
                        except OSError:
                            pass
                    os.close(go)


if __name__ == "__main__":
    serve()
