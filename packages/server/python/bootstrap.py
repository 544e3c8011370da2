"""Mecha's Python bootstrap.

Started as `python3 -E -s -u bootstrap.py` in the run's fresh working directory. The job
(code, files, args, limits) arrives as one JSON document on fd 3, never on the command line;
fd 4 carries events back to the server as JSON lines: an `input` event when the program waits
in input(), and an `error` event describing an uncaught exception. Standard streams belong to
the program. Nothing here is trusted by the server for accounting: CPU time and memory come
from the kernel.
"""

import builtins
import json
import os
import sys

JOB_FD = 3
EVENTS_FD = 4
BOOTSTRAP_FILE = os.path.abspath(__file__)


def read_job():
    chunks = []
    while True:
        chunk = os.read(JOB_FD, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(JOB_FD)
    return json.loads(b"".join(chunks).decode("utf-8"))


def emit(event):
    try:
        os.write(EVENTS_FD, (json.dumps(event) + "\n").encode("utf-8"))
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
    }
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


def write_files(root, files):
    for entry in files:
        write_file(root, entry["path"], entry["content"].encode("utf-8"))


def write_file(root, name, data):
    """Writes `data` (bytes, as a text file opened with newline="" would write them) to `name`
    under `root`, which it may not leave."""
    path = os.path.normpath(name)
    if os.path.isabs(path) or path == ".." or path.startswith(".." + os.sep):
        raise ValueError("file path escapes the working directory: %r" % name)
    target = os.path.join(root, path)
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(target), exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def make_input(notify):
    def input(prompt=""):  # noqa: A001 - replaces the builtin, keeping its behaviour
        sys.stdout.flush()
        sys.stderr.flush()
        text = str(prompt)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
        if notify:
            emit({"type": "input", "prompt": text})
        line = sys.stdin.readline()
        if not line:
            raise EOFError("EOF when reading a line")
        if line.endswith("\n"):
            line = line[:-1]
        return line

    return input


def strip_bootstrap(tb):
    """Drops this file's frames so tracebacks show only the user's code, as CPython would."""
    head = None
    tail = None
    while tb is not None:
        following = tb.tb_next
        if tb.tb_frame.f_code.co_filename != BOOTSTRAP_FILE:
            if tail is None:
                head = tb
            else:
                tail.tb_next = tb
            tail = tb
        tb = following
    if tail is not None:
        tail.tb_next = None
    return head


def describe(exc, main_path):
    import traceback

    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == main_path:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and getattr(exc, "filename", None) == main_path:
        line = exc.lineno
    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (kind.__module__, name)
    message = str(exc.msg) if isinstance(exc, SyntaxError) else str(exc)
    return {
        "type": "error",
        "name": name,
        "message": message,
        "line": line if isinstance(line, int) and line > 0 else None,
        "traceback": "".join(traceback.format_exception(kind, exc, exc.__traceback__)),
    }


def main():
    job = read_job()
    root = os.getcwd()
    main_name = job.get("main", "main.py")
    main_path = os.path.join(root, main_name)
    write_files(root, job.get("files") or [])
    # Compiled below from these bytes, as written, without reading the file back.
    source = job["code"].encode("utf-8")
    write_file(root, main_name, source)
    apply_limits(job.get("limits") or {})

    builtins.input = make_input(bool(job.get("interactive")))
    sys.argv = [main_name] + list(job.get("args") or [])
    bootstrap_dir = os.path.dirname(BOOTSTRAP_FILE)
    sys.path[:] = [root] + [p for p in sys.path if p and p != bootstrap_dir]

    import types

    module = types.ModuleType("__main__")
    module.__file__ = main_path
    module.__builtins__ = builtins
    module.__cached__ = None
    sys.modules["__main__"] = module
    # Give back the stack depth the bootstrap uses (its frames, and exec), so recursion
    # limits match a plain `python3 main.py`.
    depth = 1
    frame = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    sys.setrecursionlimit(sys.getrecursionlimit() + depth)

    try:
        code = compile(source, main_path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - report exactly what the program raised
        exc.__traceback__ = strip_bootstrap(exc.__traceback__)
        emit(describe(exc, main_path))
        sys.excepthook(type(exc), exc, exc.__traceback__)
        if isinstance(exc, KeyboardInterrupt):
            # CPython ends an uncaught KeyboardInterrupt by dying of SIGINT.
            import signal

            sys.stdout.flush()
            sys.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        sys.exit(1)


# Run as a script (`python3 bootstrap.py`); a zygote loads these definitions once and calls main()
# in each run it forks.
if __name__ == "__main__":
    main()
