"""Mecha's zygote: one warm interpreter that forks a fresh, isolated process tree per run.

Two kinds, one wire format:
- `python3 -u zygote.py`: started by the server inside bubblewrap, it forks each run into
  namespaces of its own (see mecha_sandbox_runs.py);
- `python3 -u zygote.py --plain <runs directory> <first uid> <uids>`: started by the server
  directly, where there is no sandbox, it forks each run without namespaces, with the layers
  that remain (see mecha_plain_runs.py).

It never runs a program itself. It reads the seccomp filter (BPF) from fd 5, then serves
requests read from fd 3 as lines of words (a run's id and cgroup are letters, digits, "-" and
"_"; "-" stands for a value not given) and answers on fd 4 as JSON lines, each one write(2), so
lines never interleave. Both sides are built by formatting, not by the json module: encoding
and decoding JSON writes to many more of the zygote's pages, each then copied for the zygote
after every fork.

  fork <id> <disk bytes> <uid>|- <cgroup>|- <inotify instances> <inotify watches>
                                -> the zygote forks U, the run's first process. With a cgroup,
      U first moves itself into the run's cgroups (see Cgroups). U isolates itself and answers
      {"type": "ready", "id", "pid", "fds": {"stdin", "stdout", "stderr", "job", "events"}}
      (U's pid in the zygote's pid namespace), then waits for the job. The server moves U (by
      its host pid) into the run's cgroup unless U did, opens the server's ends of the run's
      pipes through /proc/<pid>/fd and, once the run has its job, writes it on the job pipe: U
      then closes the server's ends and runs the program through the bootstrap (see
      bootstrap.py). The uid is the run's in the sandbox's user namespace (1-based), or its
      host uid for a plain zygote; disk and inotify are the sandbox's alone.
  kill <id>                     -> the zygote ends the run's processes (the kind says how).
  sweep <uid>                   -> (plain only) every process of a run's host uid is killed,
                                   answered {"type": "swept", "uid"}.
  When U is reaped the zygote answers {"type": "exit", "id", "status", "cpu", "maxrss",
  "alone"} (U's wait4 status and rusage: how the program ended, from the kernel, never from the
  program); `alone` when U left nothing running. Else the run goes on until the server ends it
  (once every process of the run has closed the program's output, or at its time limit). Once
  every process of the run is gone the zygote answers {"type": "reaped", "id", "status"}
  (always last). A run that could not be set up is answered {"type": "failed", "id", "message"}.

Cgroups: the server may pass the zygote, on fds 8 on, the directories it makes runs' cgroups in
(cgroup v1: one per hierarchy), each run's `tasks` file there belonging to the zygote's uid.
U writes "0" (itself) to `<cgroup>/tasks` under each, and closes them, before anything else: it
is in its cgroups before it has allocated anything. `tasks` moves one thread, and U, just forked,
is one thread; moving a whole process through `cgroup.procs` would take the kernel's global
thread-group lock, whose first taking in a while waits for an RCU grace period (milliseconds).

Nothing of the zygote's bookkeeping reaches a run: U leaves serve() by an exception (see
Forked), so no frame of the zygote's loop, nor the objects only its frames held, is left in U.
"""

import sys

# What a fresh `python3 main.py` has loaded: handed to the bootstrap (see STARTUP_MODULES there).
STARTUP_MODULES = frozenset(sys.modules)

import builtins  # noqa: E402,F401 - preloaded for the bootstrap
import ctypes  # noqa: E402,F401 - preloaded for the bootstrap
import fcntl  # noqa: E402,F401 - preloaded for the bootstrap
import os  # noqa: E402
import atexit  # noqa: E402,F401 - preloaded for the program's end
import types  # noqa: E402,F401 - preloaded for the bootstrap

try:
    import resource  # noqa: E402,F401 - preloaded for the bootstrap
except ImportError:  # not on every system
    pass

from mecha_zygote import (  # noqa: E402,F401 - the wire format, as the protocol test reads it
    format_exit, format_ready, format_reaped, format_swept, main, parse_request,
)

HERE = os.path.dirname(os.path.abspath(__file__))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--plain"]:
        import mecha_plain_runs as kind

        options = kind.parse_options(sys.argv[2:])
    else:
        import mecha_sandbox_runs as kind

        options = None
    main(kind, options, HERE, STARTUP_MODULES)
