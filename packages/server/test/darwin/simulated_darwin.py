"""Runs Mecha's zygote (python/zygote.py) on its macOS path under a Linux CPython, as far as
Linux can.

Simulated, not macOS: `sys.platform` says "darwin" before the zygote's first import, so that it
takes the path it takes on macOS (no prctl, capabilities, seccomp or subreaper; the run's pipes
handed over as named pipes in its working directory, since macOS has no /proc/<pid>/fd; the
descriptors to close listed from /dev/fd; ru_maxrss in bytes, as macOS's wait4 gives it). What
it cannot show: macOS's
own behaviour of named pipes, process groups and rlimits, or its Python.

    python3 -u simulated_darwin.py ZYGOTE_PY ARGS...   (as the server starts python3 -u ZYGOTE_PY ARGS...)
"""

import os
import resource
import runpy
import sys

_wait4 = os.wait4


def wait4(pid, options):
    """os.wait4 as macOS answers it: ru_maxrss in bytes (Linux's is KiB)."""
    pid, status, usage = _wait4(pid, options)
    fields = list(usage)
    fields[2] *= 1024  # ru_maxrss
    return pid, status, resource.struct_rusage(fields)


os.wait4 = wait4
zygote = sys.argv[1]
sys.argv = sys.argv[1:]
sys.platform = "darwin"
sys.path[0] = os.path.dirname(os.path.abspath(zygote))
runpy.run_path(zygote, run_name="__main__")
