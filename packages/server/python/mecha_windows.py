"""A Windows job object for one run: what stands in, on Windows, for the process group, rlimits
and cgroup a run has on Linux.

The bootstrap (bootstrap.py, `run_windows`) creates the job in the run's first process before
anything of the program runs, sets its limits and assigns that process to it; every process the
program starts is then in the job too (no limit here lets one break away). The job:
- ends with the run: the bootstrap holds its only handle (not inheritable), and
  JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE ends every process still in the job once that handle is
  closed, which Windows does when the bootstrap's process ends in any way: its own exit, or the
  server's TerminateProcess of it (Node's `child.kill()`) on a timeout, a cancel or the server's
  shutdown. A process whose parent already exited is found this way too (`taskkill /T` walks
  parent ids and would miss it). The server's own end, a crash included, ends the bootstrap:
  Node (libuv) puts every child it spawns without `detached` in a job of its own with the same
  flag, whose handle only the server holds; the run's job is nested in it (Windows 8 and later),
  so its processes end too;
- caps the committed memory of all its processes together (JOB_OBJECT_LIMIT_JOB_MEMORY): an
  allocation past it fails (a MemoryError in Python), and the job posts
  JOB_OBJECT_MSG_JOB_MEMORY_LIMIT to its completion port, which `usage` reads: that is how the
  server knows the limit was hit, whoever hit it;
- caps its processes at once (JOB_OBJECT_LIMIT_ACTIVE_PROCESS: processes, not threads, which
  Windows does not cap per job);
- ends a process that crashes at once, instead of waiting on Windows Error Reporting
  (JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION);
- counts CPU time and peak committed memory for all of them (QueryInformationJobObject), which
  `usage` reports as the run's accounting.

Layouts and values are those of winnt.h and jobapi2.h for 64-bit Windows (see `SIZES`). Process
isolation only: a program that sets out to can reach the job's handle in its own process.

Loaded by the bootstrap into a namespace of its own (never sys.modules), on Windows only.
"""

import ctypes

# winnt.h: JOBOBJECT_BASIC_LIMIT_INFORMATION.LimitFlags
JOB_OBJECT_LIMIT_ACTIVE_PROCESS = 0x00000008
JOB_OBJECT_LIMIT_JOB_MEMORY = 0x00000200
JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
# winnt.h: JOBOBJECTINFOCLASS
JobObjectAssociateCompletionPortInformation = 7
JobObjectBasicAndIoAccountingInformation = 8
JobObjectExtendedLimitInformation = 9
# winnt.h: completion port messages (the number of bytes transferred is the message)
JOB_OBJECT_MSG_JOB_MEMORY_LIMIT = 10
# Job object times are in 100-nanosecond ticks.
TICKS_PER_MS = 10_000
# The most completion port messages read at the end of a run (one per process started and ended).
MAX_MESSAGES = 100_000

LARGE_INTEGER = ctypes.c_int64
DWORD = ctypes.c_uint32
SIZE_T = ctypes.c_size_t
ULONG_PTR = ctypes.c_size_t
ULONGLONG = ctypes.c_uint64
HANDLE = ctypes.c_void_p
BOOL = ctypes.c_int
INVALID_HANDLE_VALUE = HANDLE(-1)


class JOBOBJECT_BASIC_LIMIT_INFORMATION(ctypes.Structure):  # noqa: N801 - winnt.h's names
    _fields_ = [
        ("PerProcessUserTimeLimit", LARGE_INTEGER),
        ("PerJobUserTimeLimit", LARGE_INTEGER),
        ("LimitFlags", DWORD),
        ("MinimumWorkingSetSize", SIZE_T),
        ("MaximumWorkingSetSize", SIZE_T),
        ("ActiveProcessLimit", DWORD),
        ("Affinity", ULONG_PTR),
        ("PriorityClass", DWORD),
        ("SchedulingClass", DWORD),
    ]


class IO_COUNTERS(ctypes.Structure):  # noqa: N801
    _fields_ = [
        ("ReadOperationCount", ULONGLONG),
        ("WriteOperationCount", ULONGLONG),
        ("OtherOperationCount", ULONGLONG),
        ("ReadTransferCount", ULONGLONG),
        ("WriteTransferCount", ULONGLONG),
        ("OtherTransferCount", ULONGLONG),
    ]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(ctypes.Structure):  # noqa: N801
    _fields_ = [
        ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
        ("IoInfo", IO_COUNTERS),
        ("ProcessMemoryLimit", SIZE_T),
        ("JobMemoryLimit", SIZE_T),
        ("PeakProcessMemoryUsed", SIZE_T),
        ("PeakJobMemoryUsed", SIZE_T),
    ]


class JOBOBJECT_BASIC_ACCOUNTING_INFORMATION(ctypes.Structure):  # noqa: N801
    _fields_ = [
        ("TotalUserTime", LARGE_INTEGER),
        ("TotalKernelTime", LARGE_INTEGER),
        ("ThisPeriodTotalUserTime", LARGE_INTEGER),
        ("ThisPeriodTotalKernelTime", LARGE_INTEGER),
        ("TotalPageFaultCount", DWORD),
        ("TotalProcesses", DWORD),
        ("ActiveProcesses", DWORD),
        ("TotalTerminatedProcesses", DWORD),
    ]


class JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION(ctypes.Structure):  # noqa: N801
    _fields_ = [
        ("BasicInfo", JOBOBJECT_BASIC_ACCOUNTING_INFORMATION),
        ("IoInfo", IO_COUNTERS),
    ]


class JOBOBJECT_ASSOCIATE_COMPLETION_PORT(ctypes.Structure):  # noqa: N801
    _fields_ = [
        ("CompletionKey", ctypes.c_void_p),
        ("CompletionPort", HANDLE),
    ]


# sizeof on 64-bit Windows (x64 and ARM64), as the C compiler lays the structures out.
SIZES = {
    JOBOBJECT_BASIC_LIMIT_INFORMATION: 64,
    IO_COUNTERS: 48,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION: 144,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION: 48,
    JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION: 96,
    JOBOBJECT_ASSOCIATE_COMPLETION_PORT: 16,
}

# kernel32's functions as jobapi2.h, ioapiset.h and processthreadsapi.h declare them: (name,
# result, arguments).
PROTOTYPES = [
    ("CreateJobObjectW", HANDLE, [ctypes.c_void_p, ctypes.c_wchar_p]),
    ("SetInformationJobObject", BOOL, [HANDLE, ctypes.c_int, ctypes.c_void_p, DWORD]),
    ("QueryInformationJobObject", BOOL,
     [HANDLE, ctypes.c_int, ctypes.c_void_p, DWORD, ctypes.c_void_p]),
    ("AssignProcessToJobObject", BOOL, [HANDLE, HANDLE]),
    ("GetCurrentProcess", HANDLE, []),
    ("CreateIoCompletionPort", HANDLE, [HANDLE, HANDLE, ULONG_PTR, DWORD]),
    ("GetQueuedCompletionStatus", BOOL,
     [HANDLE, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, DWORD]),
]


def kernel32():
    """kernel32, with prototypes of our own: a WinDLL of ours, not ctypes.windll.kernel32, whose
    functions a program's own code may declare differently."""
    library = ctypes.WinDLL("kernel32", use_last_error=True)
    for name, result, arguments in PROTOTYPES:
        function = getattr(library, name)
        function.restype = result
        function.argtypes = arguments
    return library


def _check(ok, what):
    if not ok:
        error = ctypes.get_last_error()
        raise OSError(None, "%s failed (Windows error %d)" % (what, error), None, error)


class Job:
    """The run's job object, this process in it. Raises OSError where it cannot be made: a run
    that would not be contained does not run."""

    def __init__(self, memory_bytes, processes, kernel=None):
        self.kernel = kernel = kernel or kernel32()
        self.handle = kernel.CreateJobObjectW(None, None)
        _check(self.handle, "CreateJobObjectW")
        limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
        if memory_bytes:
            # SIZE_T: a 32-bit interpreter's would wrap a limit of 4 GiB or more round to a
            # smaller one (ctypes does not check), so such a run is refused instead.
            if memory_bytes >= 1 << (8 * ctypes.sizeof(SIZE_T)):
                raise OSError("a memory limit of %d bytes does not fit this interpreter's "
                              "SIZE_T (a 32-bit Python)" % memory_bytes)
            flags |= JOB_OBJECT_LIMIT_JOB_MEMORY
            limits.JobMemoryLimit = memory_bytes
        if processes:
            flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS
            limits.BasicLimitInformation.ActiveProcessLimit = processes
        limits.BasicLimitInformation.LimitFlags = flags
        _check(kernel.SetInformationJobObject(self.handle, JobObjectExtendedLimitInformation,
                                              ctypes.byref(limits), ctypes.sizeof(limits)),
               "SetInformationJobObject")
        # Where the job says its memory limit was hit (a new port: nothing else posts to it).
        self.port = kernel.CreateIoCompletionPort(INVALID_HANDLE_VALUE, None, 0, 1)
        _check(self.port, "CreateIoCompletionPort")
        port = JOBOBJECT_ASSOCIATE_COMPLETION_PORT(None, self.port)
        _check(kernel.SetInformationJobObject(self.handle,
                                              JobObjectAssociateCompletionPortInformation,
                                              ctypes.byref(port), ctypes.sizeof(port)),
               "SetInformationJobObject")
        _check(kernel.AssignProcessToJobObject(self.handle, kernel.GetCurrentProcess()),
               "AssignProcessToJobObject")

    def usage(self):
        """The run's accounting event: CPU time (user and kernel) of every process the job has
        had, its peak committed memory, and whether its memory limit refused an allocation."""
        kernel = self.kernel
        accounting = JOBOBJECT_BASIC_AND_IO_ACCOUNTING_INFORMATION()
        _check(kernel.QueryInformationJobObject(self.handle,
                                                JobObjectBasicAndIoAccountingInformation,
                                                ctypes.byref(accounting),
                                                ctypes.sizeof(accounting), None),
               "QueryInformationJobObject")
        limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        _check(kernel.QueryInformationJobObject(self.handle, JobObjectExtendedLimitInformation,
                                                ctypes.byref(limits), ctypes.sizeof(limits),
                                                None),
               "QueryInformationJobObject")
        basic = accounting.BasicInfo
        return {
            "type": "accounting",
            "cpuTimeMs": (basic.TotalUserTime + basic.TotalKernelTime) / TICKS_PER_MS,
            "memoryKb": limits.PeakJobMemoryUsed // 1024,
            "memoryLimited": self.memory_limit_hit(),
        }

    def memory_limit_hit(self):
        """Whether the job posted JOB_OBJECT_MSG_JOB_MEMORY_LIMIT: the messages it has queued,
        read without waiting."""
        kernel = self.kernel
        message, key, overlapped = DWORD(), ULONG_PTR(), ctypes.c_void_p()
        hit = False
        for _ in range(MAX_MESSAGES):
            if not kernel.GetQueuedCompletionStatus(self.port, ctypes.byref(message),
                                                    ctypes.byref(key), ctypes.byref(overlapped),
                                                    0):
                break
            if message.value == JOB_OBJECT_MSG_JOB_MEMORY_LIMIT:
                hit = True
        return hit
