"""Mecha's Python bootstrap: runs one job as `python3 main.py` would run it.

The job (code, files, args, limits) arrives as one line of JSON on fd 3, never on the command
line. fd 4 carries events to the server as JSON lines: `input` when the program calls input(),
`error` describing an uncaught exception, `display` for rich output (see mecha_display.py) and
`file` for each file the job asks back (see mecha_files.py). Only the program's first process
writes events (and, on the spawn path, its reporter the files, once the program has ended); the
descriptor is closed in every process it forks and never inherited by what it executes.
Nothing here is trusted by the server for how the run ended: its exit status comes from the
kernel (through the zygote, or the reporter of mecha_report.py), its accounting from the kernel
too.

Two ways in:
- a zygote (zygote.py) loads these definitions once and, in each run it forks, calls
  `start()` then `run()` and `finish_forked()` (mecha_finish.py): the forked interpreter skips
  tearing down what the zygote built, and only finalizes what the program made, as CPython would;
- `python3 -s -u bootstrap.py` (the spawn start-up path) forks a reporter (see
  mecha_report.py) and runs the program in the child, which then exits through CPython's own
  finalization;
- on Windows, which cannot fork, the same command runs the program in this process, contained in
  a job object first (see `run_windows`).
"""

import sys

# The modules a fresh `python3 main.py` has before main.py runs: a program's own file of one of
# these names is not imported instead (as in CPython); of any other, it is (see `unshadow`).
STARTUP_MODULES = globals().get("STARTUP_MODULES") or frozenset(sys.modules)

import _thread  # noqa: E402
import builtins  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

JOB_FD = 3
EVENTS_FD = 4
# Where the event channel lives while the program runs: above the open-file limit the program
# gets (which bounds the descriptors it can open, not those already open).
EVENTS_HIGH_FD = 1000
# The spawn path's reporter writes how the program ended here (see mecha_report.py).
STATUS_FD = 8
# What a session's control channel carried after its job's line (see read_job).
JOB_REST = b""
BOOTSTRAP_FILE = os.path.abspath(__file__)
HERE = os.path.dirname(BOOTSTRAP_FILE)
# Windows' CPython: no fork, fcntl or resource, and a job object instead (see `run_windows`). A
# test may say so for a Linux interpreter with those names taken away (see the server's
# test/windows/).
WINDOWS = globals().get("WINDOWS", os.name == "nt")
# CPython's exit status on Windows after an uncaught KeyboardInterrupt (Modules/main.c).
STATUS_CONTROL_C_EXIT = 0xC000013A


def _load(name):
    """A helper module of ours (run_error.py), loaded into a namespace of its own: a program's
    module of the same name must never find it in sys.modules."""
    path = os.path.join(HERE, name)
    with open(path, "rb") as handle:
        namespace = {"__name__": "__mecha_" + name[:-3] + "__", "__file__": path}
        exec(compile(handle.read(), path, "exec", dont_inherit=True), namespace)
    return namespace


RUN_ERROR = _load("run_error.py")
DISPLAY = _load("mecha_display.py")
FILES = _load("mecha_files.py")
GUARD = _load("mecha_guard.py")
# Reports each input() call, and each read of sys.stdin that waits, as an `input` event.
watch_input = _load("mecha_stdin.py")["watch_input"]


def read_job():
    """The job: one line of JSON on fd 3 (or all the channel holds, if it ends first), read
    without waiting for the channel's end; for a session, the channel is then kept open for the
    session's messages (JOB_REST holds what came after the line; see mecha_session.py)."""
    global JOB_REST
    chunks = []
    while True:
        chunk = os.read(JOB_FD, 65536)
        if not chunk:
            break
        chunks.append(chunk)
        if b"\n" in chunk:
            break
    head, _, JOB_REST = b"".join(chunks).partition(b"\n")
    job = json.loads(head.decode("utf-8"))
    if not job.get("session"):
        os.close(JOB_FD)
    return job


class Events:
    """The event channel, written by the program's first process only."""

    def __init__(self, fd=EVENTS_FD):
        # Moved out of the way, before the program's descriptor limit is set: the program's own
        # open() gets 3, then 4, as under CPython (nothing executed inherits it: close-on-exec,
        # and a process it forks closes it at once).
        if WINDOWS:
            # No fcntl: a non-inheritable copy at that number (the C runtime's table grows to
            # it), so no process the program starts has it; and nothing forks.
            self.fd = os.dup2(fd, EVENTS_HIGH_FD, inheritable=False)
        else:
            import fcntl

            self.fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, EVENTS_HIGH_FD)
        os.close(fd)
        self.pid = os.getpid()
        # One event at a time, whole, whichever thread sends it.
        self.lock = _thread.allocate_lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.forget)

    def forget(self):
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None

    def emit(self, event):
        with self.lock:
            self.write(event)

    def write(self, event):
        """Sends an event; the caller holds `lock`."""
        if self.fd is None or os.getpid() != self.pid:
            return
        view = memoryview((json.dumps(event) + "\n").encode("utf-8"))
        try:
            while view:
                view = view[os.write(self.fd, view):]
        except OSError:
            pass


def apply_limits(limits):
    try:
        import resource
    except ImportError:  # not on Windows
        return
    names = {
        "as": "RLIMIT_AS",
        "cpu": "RLIMIT_CPU",
        "fsize": "RLIMIT_FSIZE",
        "nofile": "RLIMIT_NOFILE",
        "nproc": "RLIMIT_NPROC",
        "core": "RLIMIT_CORE",
        "sigpending": "RLIMIT_SIGPENDING",
        "msgqueue": "RLIMIT_MSGQUEUE",
    }
    if limits.get("as") is not None:
        # Under an address-space limit every malloc arena reserves 64 MiB of it: one arena for
        # all threads, so that a program's threads fit (their stacks are counted too).
        _one_malloc_arena()
    for key, name in names.items():
        value = limits.get(key)
        which = getattr(resource, name, None)
        if value is None or which is None:
            continue
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def _one_malloc_arena():
    try:
        import ctypes

        M_ARENA_MAX = -8
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1)
    except (ImportError, OSError, AttributeError):
        pass


def write_files(root, files):
    for entry in files:
        write_file(root, entry["path"], entry["content"].encode("utf-8"))


def write_file(root, name, data):
    """Writes `data` (bytes, as a text file opened with newline="" would write them) to `name`
    under `root`, which it may not leave."""
    path = os.path.normpath(name)
    # A drive or a leading separator is never relative (os.path.isabs on Windows says False for
    # "\\x" from Python 3.13 on: relative to the current drive, but not below `root`).
    rooted = os.path.splitdrive(path)[0] or path[:1] in ("/", os.sep)
    if ("\0" in name or rooted or os.path.isabs(path) or path == ".."
            or path.startswith(".." + os.sep)):
        raise ValueError("file path escapes the working directory: %r" % name)
    target = os.path.join(root, path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(target), exist_ok=True)
    # Binary on Windows: the C runtime's text mode would write each LF as CR LF.
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def unshadow(root):
    """Forgets the modules loaded before the program (by us, or a zygote's preloads) that a file
    of the program's in `root` would have replaced had it been imported first, as under CPython.
    Only names the files in `root` could give are looked at: a zygote may have preloaded hundreds."""
    from importlib.machinery import PathFinder, all_suffixes

    try:
        entries = os.listdir(root)
    except OSError:
        return
    suffixes = all_suffixes()
    names = set(entries)
    for entry in entries:
        names.update(entry[:-len(suffix)] for suffix in suffixes if entry.endswith(suffix))
    for top in names:
        if top not in sys.modules or top in STARTUP_MODULES:
            continue
        try:
            spec = PathFinder.find_spec(top, [root])
        except (ImportError, ValueError):
            continue
        # A directory without __init__.py only adds to a namespace package: a regular one wins.
        if spec is None or spec.loader is None:
            continue
        for name in [name for name in sys.modules if name == top or name.startswith(top + ".")]:
            del sys.modules[name]


class RecursionDepth:
    """Where the interpreter keeps how much recursion a thread has left (in its thread state),
    found by watching which counter moves by one per Python frame; None when it cannot be
    found. The program's first frame then starts as deep as main.py's does under CPython,
    whatever frames of ours are below it, and sys.getrecursionlimit() says what CPython says."""

    def __init__(self):
        self.counter = None
        try:
            import ctypes

            state = ctypes.pythonapi.PyThreadState_Get
            state.restype = ctypes.c_void_p
            words = (ctypes.c_int * 64).from_address(state())
        except (ImportError, AttributeError, OSError, ValueError):
            return

        def snapshot():
            return list(words)

        def deeper():
            return snapshot()

        one = snapshot()
        two = deeper()
        three = (lambda: deeper())()  # noqa: PLW0108 - one frame more, on purpose
        limit = sys.getrecursionlimit()
        found = [i for i in range(64) if one[i] - two[i] == 1 and two[i] - three[i] == 1
                 and 0 < one[i] <= limit]
        if len(found) != 1:
            return
        self.counter = ctypes.c_int.from_address(ctypes.addressof(words) + found[0] * 4)
        # What running a code object with exec() from a frame takes of the counter.
        probe = compile("RESULT = COUNTER.value", "<depth>", "exec")
        scope = {"COUNTER": self.counter}
        before = self.counter.value
        exec(probe, scope)
        self.exec_cost = before - scope["RESULT"]

    def top(self):
        """The counter's value, at an exec() of the program's module code, that starts the
        program one frame in, as main.py's module frame is under CPython."""
        return sys.getrecursionlimit() - 1 + self.exec_cost


class FrameRoot:
    """Runs code as the bottom frame of its thread, as main.py's module frame is under CPython:
    its f_back is None, and neither inspect.stack(), traceback.print_stack(), sys._getframe(n)
    nor warnings' stacklevel see the frames of ours below it. CPython 3.11 only: the current
    frame lives in the thread state's _PyCFrame (tstate->cframe->current_frame); `exec` clears
    it for the time of the call, so that the new frame has no previous one, and restores it."""

    CFRAME_OFFSET = 56  # PyThreadState.cframe, 3.11 x86-64/aarch64
    F_FRAME_OFFSET = 24  # PyFrameObject.f_frame

    def __init__(self):
        self.slot = None
        if sys.version_info[:2] != (3, 11) or sys.maxsize < 2**32:
            return
        try:
            import ctypes

            state = ctypes.pythonapi.PyThreadState_Get
            state.restype = ctypes.c_void_p
            cframe = ctypes.c_void_p.from_address(state() + self.CFRAME_OFFSET).value
            here = ctypes.c_void_p.from_address(id(sys._getframe()) + self.F_FRAME_OFFSET).value
            slot = ctypes.c_void_p.from_address(cframe + 8)
        except (ImportError, AttributeError, OSError, ValueError, TypeError):
            return
        if slot.value == here:
            self.slot = slot
            self.ctypes = ctypes

    def exec(self, code, scope, depth):
        """exec(code, scope), the recursion counter set as RecursionDepth says, just before."""
        counter = depth.counter
        if self.slot is None:
            if counter is not None:
                counter.value = depth.top()
            exec(code, scope)
            return
        # The slot is that of the thread state's current _PyCFrame, found again from here.
        ctypes = self.ctypes
        state = ctypes.pythonapi.PyThreadState_Get
        cframe = ctypes.c_void_p.from_address(state() + self.CFRAME_OFFSET).value
        slot = ctypes.c_void_p.from_address(cframe + 8)
        here = ctypes.c_void_p.from_address(id(sys._getframe()) + self.F_FRAME_OFFSET).value
        if counter is not None:
            counter.value = depth.top()
        if slot.value != here:
            exec(code, scope)
            return
        slot.value = None
        try:
            exec(code, scope)
        finally:
            slot.value = here


def main_module(main_path):
    """A `__main__` module as CPython makes it for `python3 main.py`, same names in the same order."""
    import types
    from importlib.machinery import SourceFileLoader

    module = types.ModuleType("__main__")
    module.__loader__ = SourceFileLoader("__main__", main_path)
    module.__annotations__ = {}
    module.__builtins__ = builtins
    module.__file__ = main_path
    module.__cached__ = None
    return module


def flush_io():
    """CPython's flush after the main module ran: errors ignored."""
    for name in ("stderr", "stdout"):
        stream = getattr(sys, name, None)
        if stream is not None:
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass


def system_exit_status(code):
    """The exit status CPython gives an uncaught SystemExit carrying `code` (printing it when it
    is not a number, as CPython does)."""
    if code is None:
        return 0
    if isinstance(code, int):
        # CPython reads it as a C long (32 bits on Windows, 64 elsewhere): one that does not fit
        # is -1. POSIX keeps the low 8 bits of an exit status, Windows all 32.
        bits, mask = (32, 0xFFFFFFFF) if WINDOWS else (64, 0xFF)
        return int(code) & mask if -(1 << bits - 1) <= code < (1 << bits - 1) else mask
    stderr = getattr(sys, "stderr", None)
    try:
        if stderr is not None:
            stderr.write(str(code))
            stderr.write("\n")
        else:
            os.write(2, (str(code) + "\n").encode("utf-8", "backslashreplace"))
    except Exception:  # noqa: BLE001
        pass
    return 1


def print_exception(exc):
    """What CPython's PyErr_Print does with an uncaught exception: sys.last_*, then sys.excepthook."""
    kind = type(exc)
    sys.last_type, sys.last_value, sys.last_traceback = kind, exc, exc.__traceback__
    hook = getattr(sys, "excepthook", None)
    if hook is None:
        try:
            sys.__stderr__.write("sys.excepthook is missing\n")
        except Exception:  # noqa: BLE001
            pass
        sys.__excepthook__(kind, exc, exc.__traceback__)
        return
    try:
        hook(kind, exc, exc.__traceback__)
    except BaseException as failure:  # noqa: BLE001
        if isinstance(failure, SystemExit):
            return
        try:
            sys.stderr.write("Error in sys.excepthook:\n")
            sys.__excepthook__(type(failure), failure, failure.__traceback__)
            sys.stderr.write("\nOriginal exception was:\n")
        except Exception:  # noqa: BLE001
            pass
        sys.__excepthook__(kind, exc, exc.__traceback__)


def preload(names):
    """In a zygote, before it forks a run: imports `names` once for every run (matplotlib with
    pyplot and the inline backend, its font cache seeded first)."""
    import importlib

    DISPLAY["seed_config"](HERE)
    for name in names:
        importlib.import_module(name)
        if name == "matplotlib":
            importlib.import_module("matplotlib.pyplot")
    if "matplotlib" in sys.modules:
        DISPLAY["use_inline"](HERE, sys.modules["matplotlib"], preloading=True)


def prepare_packages(display, network):
    """Per run: matplotlib's configuration seeded, what a zygote preloaded made the run's own
    (numpy's global random state, seeded at its import, reseeded: two runs never share a
    sequence), the inline backend sending this run's figures, and the run's audit hook (see
    mecha_guard.py)."""
    renew_packages(display)
    guard_packages(display, network)


def renew_packages(display, font_cache=None):
    """The part of prepare_packages that does not need the job."""
    DISPLAY["seed_config"](HERE, font_cache)
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    inline = sys.modules.get(DISPLAY["INLINE_MODULE"])
    if inline is not None:
        inline.publish = display.figure


# The process's audit hook once installed (a hook cannot be removed), the network it was made
# for, and the display its matplotlib callback publishes figures to (see guard_packages).
GUARDED = {"guard": None, "network": None, "display": None}


def guard_packages(display, network):
    """The part of prepare_packages that needs the job's network: the run's audit hook, made once
    per process (in a zygote's run, before its job, for the network of the zygote's runs) and
    reconfigured if a later call's network differs; figures go to the latest call's display."""
    GUARDED["display"] = display
    guard = GUARDED["guard"]
    if guard is not None:
        guard.configure(network)
        return
    if GUARDED["network"] == network:
        return  # none installed: this network needs none
    GUARDED["network"] = network
    on_matplotlib = None
    if sys.modules.get(DISPLAY["INLINE_MODULE"]) is None and os.path.isdir(os.path.join(HERE, "matplotlib")):
        def on_matplotlib(matplotlib):
            done = DISPLAY["use_inline"](HERE, matplotlib)
            module = sys.modules.get(DISPLAY["INLINE_MODULE"])
            if module is not None:
                module.publish = GUARDED["display"].figure
            return done
    GUARDED["guard"] = GUARD["install"](network, on_matplotlib)


class Once:
    """What stays the same from run to run in one interpreter, found once (by a zygote, for every
    process it forks, so that no run makes it again): where the recursion counter is (see
    RecursionDepth), how the program's frame becomes the bottom one (see FrameRoot), and the font
    cache a run's matplotlib configuration is seeded with (see seed_config)."""

    def __init__(self):
        self.depth = RecursionDepth()
        self.frame_root = FrameRoot()
        self.font_cache = DISPLAY["font_cache"](HERE)


class Ready:
    """What any job in this process needs, made before the job is known (in a zygote's run,
    while its first process waits for its job, so that none of it is on the job's path): the
    event channel, display() (its marker set with the job), sys.path as `python3 main.py` in the
    working directory has it, and preloaded packages made the run's own; with what `once` found
    (found here when not given). Given the `network` its jobs have (a zygote's runs' is its
    own), the run's audit hook too (see guard_packages)."""

    def __init__(self, once=None, rehearse=False, network=None):
        once = once or Once()
        self.events = Events()
        self.depth = once.depth
        self.frame_root = once.frame_root
        self.root = os.getcwd()
        self.display = DISPLAY["Display"](self.events, None, flush_io)
        sys.path[:] = [self.root] + [p for p in sys.path if p and p != HERE]
        renew_packages(self.display, once.font_cache)
        if network is not None:
            guard_packages(self.display, network)
        if rehearse:
            rehearse_job(self.root)


# A job of nothing, as the server writes one (see rehearse_job).
REHEARSAL = json.dumps({"code": "print('hi')\n", "files": [], "args": [], "marker": "0" * 16,
                        "limits": {"cpu": 1, "fsize": 1, "nofile": 1, "nproc": 1}})
REHEARSAL_NAME = ".mecha-rehearsal.py"


def rehearse_job(root):
    """In a run forked from a zygote, before its job: a job's path walked once with a job of
    nothing (read, written, made a module, compiled and executed, its output dropped), so that
    the pages of the zygote's it writes (reference counts, the JSON decoder's, the compiler's
    and the interpreter's state) are copied now, not while the program's caller waits. The file
    it writes is removed at once; nothing it makes is kept."""
    job = json.loads(REHEARSAL)
    source = job["code"].encode("utf-8")
    write_file(root, REHEARSAL_NAME, source)
    unshadow(root)
    path = os.path.join(root, REHEARSAL_NAME)
    os.unlink(path)
    module = main_module(path)
    scope = {"__builtins__": builtins, "print": lambda *args, **kwargs: None}
    exec(compile(source, module.__file__, "exec", dont_inherit=True), scope)


class Program:
    """One job, ready to run: its files written, its limits set, its `__main__` made."""

    def __init__(self, job, ready):
        events = ready.events
        self.events = events
        self.depth = ready.depth
        self.frame_root = ready.frame_root
        self.root = ready.root
        self.main_name = job.get("main", "main.py")
        self.main_path = os.path.join(self.root, self.main_name)
        self.return_files = job.get("returnFiles") or []
        self.file_bytes = job.get("fileBytes") or 0
        write_files(self.root, job.get("files") or [])
        # Compiled below from these bytes, as written, without reading the file back.
        self.source = job["code"].encode("utf-8")
        write_file(self.root, self.main_name, self.source)
        apply_limits(job.get("limits") or {})
        if job.get("interactive"):
            open_stdin = watch_input(events)
            if open_stdin is not None and sys.stdin is not None:
                # __stdin__ too, as CPython's: what the program wraps around sys.stdin.buffer
                # stays open when it rebinds sys.stdin.
                sys.stdin = sys.__stdin__ = open_stdin(sys.stdin)
        self.display = ready.display
        self.display.set_marker(job.get("marker"))
        builtins.display = self.display.display
        guard_packages(self.display, job.get("network") or "host")
        args = [str(arg) for arg in job.get("args") or []]
        sys.argv = [self.main_name] + args
        sys.orig_argv = ["python3", self.main_name] + args
        unshadow(self.root)
        self.module = main_module(self.main_path)
        sys.modules["__main__"] = self.module

    def run(self):
        """Runs the program; returns how it ended: (exit status, whether an uncaught
        KeyboardInterrupt ends it, as CPython then dies of SIGINT)."""
        scope = self.module.__dict__
        try:
            try:
                code = compile(self.source, self.main_path, "exec", dont_inherit=True)
                self.frame_root.exec(code, scope, self.depth)
            finally:
                self.show_figures()
                flush_io()
        except SystemExit as exit_:
            return system_exit_status(exit_.code), False
        except BaseException as exc:  # noqa: BLE001 - report exactly what the program raised
            exc.__traceback__ = RUN_ERROR["strip_frames"](exc.__traceback__, BOOTSTRAP_FILE)
            self.events.emit(dict(RUN_ERROR["describe"](exc, self.main_path), type="error",
                                  name=RUN_ERROR["qualified_name"](type(exc))))
            try:
                print_exception(exc)
            except SystemExit as exit_:
                return system_exit_status(exit_.code), False
            return 1, isinstance(exc, KeyboardInterrupt)
        finally:
            # CPython forgets these once main.py has run; and only sys.modules keeps `__main__`,
            # so that it is torn down in its turn.
            scope.pop("__file__", None)
            scope.pop("__cached__", None)
            self.module = None
        return 0, False

    def show_figures(self):
        """The figures the program left open, as a notebook shows them when its cell ends."""
        try:
            DISPLAY["show_open_figures"]()
        except Exception:  # noqa: BLE001 - a figure that does not draw is not the program's error
            pass

    def send_files(self):
        """The files the job asks back, once the program has ended (see mecha_files.py)."""
        try:
            FILES["send_files"](self.root, self.return_files, self.file_bytes, self.events.emit)
        except Exception:  # noqa: BLE001 - what could not be read is not sent
            pass


def start(job, once=None, ready=None):
    """Prepares a job in this process (the program's first): its program, or, for a session,
    the session (see mecha_session.py). `ready` is what was made before the job (see Ready),
    made here if nothing was."""
    ready = ready or Ready(once)
    if job.get("session"):
        return _load("mecha_session.py")["Session"](globals(), job, ready.events, ready.depth)
    return Program(job, ready)


# --- the spawn start-up path ------------------------------------------------------------------


def close_other_descriptors(keep):
    """Closes every descriptor from 5 up but `keep`: nothing the server's process inherited
    reaches the program."""
    low = 5
    for fd in sorted(fd for fd in keep if fd >= low):
        os.closerange(low, fd)
        low = fd + 1
    # Windows' C runtime has at most 8192 descriptors.
    os.closerange(low, 8192 if WINDOWS else 1 << 16)


def confine(seccomp_fd):
    """The spawn path without the sandbox, on Linux: before anything of the program runs, no
    capability and no way to gain one (no_new_privs: a setuid program runs with the run's uid),
    and the seccomp filter the server passed on `seccomp_fd`, as bubblewrap gives both in the
    sandbox and the zygote to each run it forks. A run that cannot have them runs nothing."""
    import ctypes

    try:
        linux = _load("mecha_linux.py")
        prog = linux["read_seccomp"](seccomp_fd)
        linux["drop_privileges"](ctypes.addressof(prog), bounding=False)
    except Exception as error:  # noqa: BLE001 - say why, and run nothing unconfined
        os.write(2, ("Mecha: could not confine the run (no_new_privs, seccomp): %s\n"
                     % error).encode("utf-8", "backslashreplace"))
        os._exit(1)


def run_windows(job):
    """Windows' way through a run, in this one process (no fork, so no reporter): it contains
    itself in a job object (see mecha_windows.py) before anything of the program runs, so that
    every process the program starts is in the job too and all of them end with this one;
    runs the program; ends it as a forked run ends (`finish_forked`: the program's threads,
    atexit and modules, then the files it asks back); sends the job's accounting; and exits
    with the status CPython's own `python main.py` would have. Never returns."""
    close_other_descriptors(set())
    if job.get("session"):
        os.write(2, b"Mecha: sessions need fork(), which Windows does not have\n")
        os._exit(1)
    place = job.get("windows") or {}
    try:
        contained = _load("mecha_windows.py")["Job"](place.get("memoryBytes"),
                                                     place.get("processes"))
    except Exception as error:  # noqa: BLE001 - say why, and run nothing uncontained
        os.write(2, ("Mecha: could not contain the run in a Windows job object: %s\n"
                     % error).encode("utf-8", "backslashreplace"))
        os._exit(1)
    finish = _load("mecha_finish.py")
    modules_before = dict(sys.modules)
    builtins_before = dict(builtins.__dict__)
    program = start(job)
    status, interrupted = program.run()
    status = finish["finish_forked"](status, modules_before, builtins_before)
    program.send_files()
    try:
        program.events.emit(contained.usage())
    except Exception:  # noqa: BLE001 - counters that cannot be read are not sent
        pass
    if interrupted:
        status = STATUS_CONTROL_C_EXIT
    # os._exit takes a C int: Windows' unsigned 32-bit status, as the same bits.
    os._exit(status - (1 << 32) if status >= 1 << 31 else status)


if __name__ == "__main__":
    job_document = read_job()
    if WINDOWS:
        run_windows(job_document)
    if job_document.get("seccomp") is not None:
        confine(job_document["seccomp"])
    close_other_descriptors({STATUS_FD} if job_document.get("report") else set())
    if job_document.get("report"):
        _load("mecha_report.py")["report"](
            STATUS_FD, job_document, JOB_FD, EVENTS_FD,
            lambda patterns, limit: FILES["send_files"](os.getcwd(), patterns, limit,
                                                        Events(EVENTS_FD).emit))
    ending = start(job_document).run()
    del job_document
    if ending[1]:
        # Printed already: CPython's own end of an uncaught KeyboardInterrupt (finalization, then
        # death by SIGINT), with nothing printed twice.
        sys.excepthook = lambda *_: None
        raise KeyboardInterrupt
    # CPython's own finalization; 120 if flushing the standard streams fails.
    raise SystemExit(ending[0])
