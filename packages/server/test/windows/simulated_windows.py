"""Runs Mecha's bootstrap on its Windows path under a Linux CPython, as far as Linux can.

Simulated, not Windows: the names Windows' CPython does not have are taken away first (os.fork,
os.setsid, os.register_at_fork, os.O_CLOEXEC, os.O_NOFOLLOW, os.O_DIRECTORY, os.O_NONBLOCK,
dir_fd support, the POSIX-only signals, and the modules fcntl, resource, pwd, grp, termios and
posix-only ctypes.CDLL(None)); the bootstrap is told it is on Windows (its WINDOWS global); and
kernel32 is a fake (`Kernel32`) that checks each call's arguments against the prototype the
bootstrap declared, as ctypes would, writes every call to a log file, and answers with fixed
accounting. What it cannot show: that Windows itself enforces the job's limits, or that its
process tree dies with the job.

    python3 simulated_windows.py BOOTSTRAP_DIR CALL_LOG   (the job on fd 3, events on fd 4)
    python3 simulated_windows.py --sizes BOOTSTRAP_DIR     (the job object structures' sizes)

Environment: FAKE_MEMORY_LIMIT=1 makes the job's completion port hold
JOB_OBJECT_MSG_JOB_MEMORY_LIMIT; FAKE_FAIL=NAME:ERROR makes kernel32's NAME fail (return 0)
with that Windows error, which ctypes.get_last_error() then reports, as ctypes does, only to a
library loaded with use_last_error=True.
A program can write a line of its own into the log with `import fake_kernel32;
fake_kernel32.mark("...")`.
"""

import ctypes
import json
import os
import runpy
import sys
import threading
import types

# The fake's answers, in Windows' units: 100-ns ticks and bytes.
USER_TICKS = 12_345_670
KERNEL_TICKS = 100_000
PEAK_JOB_MEMORY = 50 * 1024 * 1024
JOB, PORT = 0x1000, 0x2000
CURRENT_PROCESS = 2**64 - 1  # (HANDLE)-1, as a c_void_p result reads
JOB_OBJECT_MSG_JOB_MEMORY_LIMIT = 10

_write = os.write


def describe(value):
    """A call's argument as the log shows it: a structure passed by reference as its fields."""
    if type(value).__name__ == "CArgObject":  # ctypes.byref(...)
        return describe(value._obj)
    if isinstance(value, ctypes.Structure):
        return {name: describe(getattr(value, name)) for name, _ in value._fields_}
    if isinstance(value, ctypes._SimpleCData):
        value = value.value
    # JSON numbers past 2**53 do not survive JavaScript: a handle such as (HANDLE)-1 as hex.
    return hex(value) if isinstance(value, int) and abs(value) > 2**53 else value


class Function:
    def __init__(self, kernel, name):
        self.kernel, self.name = kernel, name
        self.argtypes = None
        # ctypes' default: a C int, which keeps only the low 32 bits of a HANDLE or pointer.
        self.restype = ctypes.c_int

    def __call__(self, *args):
        if self.argtypes is None or len(self.argtypes) != len(args):
            raise TypeError("%s called without its prototype, or with %d arguments"
                            % (self.name, len(args)))
        for argtype, arg in zip(self.argtypes, args):
            argtype.from_param(arg)  # what ctypes does: raises if the argument does not fit
        self.kernel.log({"call": self.name, "args": [describe(arg) for arg in args]})
        failure = self.kernel.failures.get(self.name)
        if failure is not None:
            self.kernel.set_last_error(failure)
            result = 0
        else:
            result = getattr(self.kernel, self.name)(*args)
        # What ctypes makes of the C result for the declared restype (c_void_p: None for NULL).
        return None if self.restype is None else self.restype(result).value


class Kernel32:
    def __init__(self, log_path):
        self.log_path = log_path
        self.lock = threading.Lock()
        self.messages = [JOB_OBJECT_MSG_JOB_MEMORY_LIMIT] if os.environ.get(
            "FAKE_MEMORY_LIMIT") else []
        self.functions = {}
        self.failures = {}
        name, _, error = os.environ.get("FAKE_FAIL", "").partition(":")
        if name:
            self.failures[name] = int(error)
        # ctypes' own copy of the last error, kept for libraries with use_last_error=True.
        self.use_last_error = False
        self.last_error = 0

    def set_last_error(self, error):
        if self.use_last_error:
            self.last_error = error

    def function(self, name):
        if name not in self.functions:
            if not hasattr(type(self), name):
                raise AttributeError("function '%s' not found" % name)
            self.functions[name] = Function(self, name)
        return self.functions[name]

    def log(self, entry):
        # Opened for each line: the bootstrap closes every descriptor it did not expect.
        with self.lock:
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _write(fd, (json.dumps(entry) + "\n").encode())
            finally:
                os.close(fd)

    # kernel32, as far as the bootstrap uses it
    def CreateJobObjectW(self, attributes, name):  # noqa: N802 - kernel32's names
        return JOB

    def SetInformationJobObject(self, job, kind, info, size):  # noqa: N802
        if size != ctypes.sizeof(info._obj):
            raise AssertionError("size %d for a %d-byte structure" % (size, ctypes.sizeof(info._obj)))
        return 1

    def QueryInformationJobObject(self, job, kind, info, size, returned):  # noqa: N802
        target = info._obj
        if size != ctypes.sizeof(target):
            raise AssertionError("size %d for a %d-byte structure" % (size, ctypes.sizeof(target)))
        if kind == 8:
            target.BasicInfo.TotalUserTime = USER_TICKS
            target.BasicInfo.TotalKernelTime = KERNEL_TICKS
        elif kind == 9:
            target.PeakJobMemoryUsed = PEAK_JOB_MEMORY
        return 1

    def AssignProcessToJobObject(self, job, process):  # noqa: N802
        return 1

    def GetCurrentProcess(self):  # noqa: N802
        return CURRENT_PROCESS

    def CreateIoCompletionPort(self, handle, existing, key, threads):  # noqa: N802
        return PORT

    def GetQueuedCompletionStatus(self, port, message, key, overlapped, timeout):  # noqa: N802
        if not self.messages:
            return 0
        message._obj.value = self.messages.pop(0)
        return 1



class Library:
    """What ctypes.WinDLL("kernel32") gives: the fake's functions as attributes."""

    def __init__(self, kernel):
        self._kernel = kernel

    def __getattr__(self, name):
        return self._kernel.function(name)


def take_away_unix():
    for name in ("fork", "forkpty", "setsid", "setpgid", "getpgid", "killpg", "register_at_fork",
                 "wait3", "wait4", "waitstatus_to_exitcode", "getuid", "geteuid", "setuid",
                 "getgid", "setgid", "O_CLOEXEC", "O_NOFOLLOW", "O_DIRECTORY", "O_NONBLOCK",
                 "pipe2", "set_blocking", "get_blocking", "sched_getaffinity", "uname"):
        if hasattr(os, name):
            delattr(os, name)
    os.supports_dir_fd.clear()
    import signal

    windows_signals = {"SIGABRT", "SIGFPE", "SIGILL", "SIGINT", "SIGSEGV", "SIGTERM"}
    for name in [name for name in dir(signal) if name.startswith("SIG") and "_" not in name]:
        if name not in windows_signals:
            delattr(signal, name)
    for name in ("pthread_kill", "pthread_sigmask", "setitimer", "getitimer", "alarm", "pause",
                 "siginterrupt", "sigwait"):
        if hasattr(signal, name):
            delattr(signal, name)
    for name in ("fcntl", "resource", "pwd", "grp", "termios"):
        sys.modules[name] = None  # `import fcntl` raises ImportError

    real_cdll = ctypes.CDLL

    def cdll(name, *args, **kwargs):
        if name is None:
            raise TypeError("Windows has no CDLL(None)")
        return real_cdll(name, *args, **kwargs)

    ctypes.CDLL = cdll


def install_kernel32(log_path):
    kernel = Kernel32(log_path)

    def win_dll(name, use_last_error=False):
        kernel.use_last_error = kernel.use_last_error or use_last_error
        return Library(kernel)

    ctypes.WinDLL = win_dll
    ctypes.get_last_error = lambda: kernel.last_error
    module = types.ModuleType("fake_kernel32")
    module.mark = lambda text: kernel.log({"mark": text})
    sys.modules["fake_kernel32"] = module


def main():
    if sys.argv[1] == "--sizes":
        namespace = runpy.run_path(os.path.join(sys.argv[2], "mecha_windows.py"))
        print(json.dumps({kind.__name__: {
            "sizeof": ctypes.sizeof(kind),
            "declared": size,
            "offsets": {name: getattr(kind, name).offset for name, _ in kind._fields_},
        } for kind, size in namespace["SIZES"].items()}))
        return
    bootstrap_dir, log_path = sys.argv[1], sys.argv[2]
    take_away_unix()
    install_kernel32(log_path)
    sys.argv = [os.path.join(bootstrap_dir, "bootstrap.py")]
    sys.path[0] = bootstrap_dir
    runpy.run_path(sys.argv[0], init_globals={"WINDOWS": True}, run_name="__main__")


main()
