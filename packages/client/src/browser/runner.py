"""The Python half of Mecha's browser backend, run once per Pyodide interpreter, in the worker.

It mirrors the server's bootstrap: the program is `/workspace/main.py` run as `__main__`,
`input()` reports its prompt, an uncaught exception is described as the server describes it (by
the shared `run_error.py` of @mecha/protocol), and `SystemExit` sets the exit code. Unlike a fresh
process, the interpreter is reused, so every run also undoes what the previous one changed:
globals, imported modules, builtins, `sys` state, the environment, the working directory and the
files it wrote.

A session's runs share what a notebook's cells share: their `__main__` namespace, the modules
they imported, and a working directory of their own (`/sessions/<id>`) that outlives the run; a
final expression's value is displayed (`text/plain`, its `repr`). Everything else is undone as
after any run.

The worker runs this file with `RUN_ERROR_SOURCE` (the text of `run_error.py`) among its globals.
The last expression is a dict of functions: `run(job_json, host)`, where `host` is the worker's
bridge (stdin, `input` events, displays, interruptible sleep, output flushing, stop requests),
and `open_session`, `close_session` and `read_file` for sessions.
"""

import ast
import builtins
import importlib.util
import io
import json
import linecache
import os
import shutil
import sys
import time
import types

WORKDIR = "/workspace"
SESSIONS = "/sessions"
MAIN = "main.py"
RUNNER_FILE = "<mecha>"
EOF_MESSAGE = "EOF when reading a line"


def _load_run_error(source):
    """Runs the shared `run_error.py` in a namespace of its own. It is never imported by name,
    so a program's own module called `run_error` does not find it in `sys.modules`."""
    namespace = {"__name__": "_mecha_run_error"}
    exec(compile(source, "<mecha-run-error>", "exec", dont_inherit=True), namespace)
    return namespace


_run_error = _load_run_error(RUN_ERROR_SOURCE)  # noqa: F821 - given by the worker
_strip_frames = _run_error["strip_frames"]
_describe = _run_error["describe"]

_host = None
_state = {"notify": False, "eof_message": EOF_MESSAGE}


def _check_stop():
    if _host is not None and _host.stopped():
        raise KeyboardInterrupt


class Stdin(io.TextIOBase):
    """Standard input fed by the worker: text given up front, then (if the page is
    cross-origin isolated and the run is interactive) whatever the page sends."""

    def __init__(self):
        super().__init__()
        self._buffer = ""
        self._eof = False
        # True while input() reads: it has reported itself, with its prompt.
        self.asked = False

    @property
    def encoding(self):
        return "utf-8"

    @property
    def name(self):
        return "<stdin>"

    def readable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def reset(self):
        self._buffer = ""
        self._eof = False
        self.asked = False

    def _fill(self):
        if self._eof or _host is None:
            return False
        # A read that is not input()'s asks the page to report it, if it has to wait.
        chunk = _host.read(_state["notify"] and not self.asked)
        _check_stop()
        if chunk is None:
            self._eof = True
            return False
        self._buffer += str(chunk)
        return True

    def readline(self, size=-1):
        if size is None:
            size = -1
        while "\n" not in self._buffer and (size < 0 or len(self._buffer) < size):
            if not self._fill():
                break
        end = self._buffer.find("\n") + 1 or len(self._buffer)
        if size >= 0:
            end = min(end, size)
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def read(self, size=-1):
        if size is None:
            size = -1
        while size < 0 or len(self._buffer) < size:
            if not self._fill():
                break
        if size < 0:
            size = len(self._buffer)
        text, self._buffer = self._buffer[:size], self._buffer[size:]
        return text

    def readlines(self, hint=-1):
        return list(iter(self.readline, ""))


def _make_stream(fd, errors):
    return io.TextIOWrapper(
        io.FileIO(fd, "w", closefd=False),
        encoding="utf-8",
        errors=errors,
        line_buffering=False,
        write_through=True,
    )


STDIN = Stdin()
STDOUT = _make_stream(1, "strict")
STDERR = _make_stream(2, "backslashreplace")


def _input(prompt=""):
    _flush_streams()
    text = str(prompt)
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()
    if _state["notify"] and _host is not None:
        _host.input(text)
    STDIN.asked = True
    try:
        line = sys.stdin.readline()
    finally:
        STDIN.asked = False
    if not line:
        raise EOFError(_state["eof_message"])
    if line.endswith("\n"):
        line = line[:-1]
    return line


_original_sleep = time.sleep


def _sleep(seconds):
    if not isinstance(seconds, (int, float)):
        seconds = float(seconds)
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    if _host is None or not _host.canSleep:
        return _original_sleep(seconds)
    _host.flush()
    if _host.sleep(seconds * 1000.0):
        raise KeyboardInterrupt


_sleep.__name__ = "sleep"
_sleep.__qualname__ = "sleep"
_sleep.__doc__ = _original_sleep.__doc__

builtins.input = _input
time.sleep = _sleep
sys.stdin = sys.__stdin__ = STDIN
sys.stdout = sys.__stdout__ = STDOUT
sys.stderr = sys.__stderr__ = STDERR
os.makedirs(WORKDIR, exist_ok=True)

_BASE = {
    "builtins": dict(builtins.__dict__),
    "modules": set(sys.modules),
    "main": sys.modules.get("__main__"),
    "path": list(sys.path),
    "meta_path": list(sys.meta_path),
    "path_hooks": list(sys.path_hooks),
    "environ": dict(os.environ),
    "cwd": os.getcwd(),
    "recursion": sys.getrecursionlimit(),
    "displayhook": sys.displayhook,
    "excepthook": sys.excepthook,
    "tmp": set(os.listdir("/tmp")) if os.path.isdir("/tmp") else set(),
    "sleep": time.sleep,
}


def _write_files(root, files):
    for entry in files:
        path = os.path.normpath(entry["path"])
        if os.path.isabs(path) or path == ".." or path.startswith(".." + os.sep):
            raise ValueError("file path escapes the working directory: %r" % entry["path"])
        target = os.path.join(root, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(entry["content"])


def _exit_code(exc):
    """The status a process would exit with for this SystemExit, like CPython's handler."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def _flush_streams():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def _missing(exc):
    """The top-level module a ModuleNotFoundError lacks, when nothing the run can import has it."""
    name = (exc.name or "").partition(".")[0]
    try:
        found = not name or importlib.util.find_spec(name) is not None
    except Exception:  # a finder of the program's own failed: say nothing
        found = True
    return None if found else {"module": name, "stdlib": name in sys.stdlib_module_names}


def _run_atexit():
    try:
        import atexit

        atexit._run_exitfuncs()
        atexit._clear()
    except BaseException:
        pass


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _restore():
    """Puts the interpreter back as it was before the run."""
    sys.settrace(None)
    sys.setprofile(None)
    try:
        os.chdir(_BASE["cwd"])
    except OSError:
        pass
    sys.stdin = sys.__stdin__ = STDIN
    sys.stdout = sys.__stdout__ = STDOUT
    sys.stderr = sys.__stderr__ = STDERR
    STDIN.reset()
    sys.displayhook = _BASE["displayhook"]
    sys.excepthook = _BASE["excepthook"]
    sys.argv = [""]
    sys.path[:] = _BASE["path"]
    sys.meta_path[:] = _BASE["meta_path"]
    sys.path_hooks[:] = _BASE["path_hooks"]
    _forget_finders()
    sys.setrecursionlimit(_BASE["recursion"])
    time.sleep = _BASE["sleep"]
    if dict(os.environ) != _BASE["environ"]:
        os.environ.clear()
        os.environ.update(_BASE["environ"])
    names = builtins.__dict__
    for key in [key for key in names if key not in _BASE["builtins"]]:
        del names[key]
    for key, value in _BASE["builtins"].items():
        if names.get(key) is not value:
            names[key] = value
    for name in [name for name in sys.modules if name not in _BASE["modules"]]:
        del sys.modules[name]
    if _BASE["main"] is not None:
        sys.modules["__main__"] = _BASE["main"]
    _remove(WORKDIR)
    os.makedirs(WORKDIR, exist_ok=True)
    _forget_finders()
    if os.path.isdir("/tmp"):
        for entry in os.listdir("/tmp"):
            if entry not in _BASE["tmp"]:
                _remove(os.path.join("/tmp", entry))


def _forget_finders():
    """Drops the import finders of paths the runs write to, so each run sees its own files.
    (importlib.invalidate_caches() would also re-read the standard library's zip: slow.)"""
    for path in list(sys.path_importer_cache):
        if not isinstance(path, str) or path in _BASE["path"]:
            continue
        del sys.path_importer_cache[path]


def _settle(step):
    """Runs a clean-up step to its end even if a late stop request interrupts it."""
    for _ in range(5):
        try:
            step()
            return
        except KeyboardInterrupt:
            continue


_sessions = {}


def open_session(session_id, files_json):
    folder = os.path.join(SESSIONS, session_id)
    os.makedirs(folder, exist_ok=True)
    _write_files(folder, json.loads(files_json))
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    main.__cached__ = None
    _sessions[session_id] = {"dir": folder, "main": main, "modules": {}}


def close_session(session_id):
    _sessions.pop(session_id, None)
    _remove(os.path.join(SESSIONS, session_id))


def read_file(session_id, path):
    """A file of a session's folder, base64-encoded; None when there is no such file in it."""
    import base64

    folder = os.path.realpath(os.path.join(SESSIONS, session_id))
    target = os.path.realpath(os.path.join(folder, path))
    if not target.startswith(folder + os.sep) or not os.path.isfile(target):
        return None
    with open(target, "rb") as handle:
        return base64.b64encode(handle.read()).decode("ascii")


def _run_cell(source, path, namespace):
    """Runs a session's code as a notebook cell: a final expression's value is displayed."""
    tree = ast.parse(source, path)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, path, "exec", dont_inherit=True), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), path, "eval", dont_inherit=True), namespace)
        if value is not None:
            _flush_streams()
            _host.display(json.dumps({"text/plain": repr(value)}))


def run(job_json, host):
    global _host
    job = json.loads(job_json)
    _host = host
    _state["notify"] = bool(job.get("notify"))
    _state["eof_message"] = job.get("eofMessage") or EOF_MESSAGE
    session = _sessions.get(job.get("session"))
    workdir = session["dir"] if session else WORKDIR
    main_path = os.path.join(workdir, MAIN)
    outcome = {"exitCode": 0, "stopped": False}
    try:
        if session is None:
            _remove(WORKDIR)
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
        _write_files(workdir, job.get("files") or [])
        if session is None:
            _write_files(WORKDIR, [{"path": MAIN, "content": job["code"]}])
        else:
            # A cell is no file of the session's folder: tracebacks find its lines in linecache.
            lines = job["code"].splitlines(True)
            linecache.cache[main_path] = (len(job["code"]), None, lines, main_path)
            sys.modules.update(session["modules"])
        STDIN.reset()
        sys.argv = [MAIN] + list(job.get("args") or [])
        sys.path[:] = [workdir] + [entry for entry in _BASE["path"] if entry]
        _forget_finders()
        module = session["main"] if session else types.ModuleType("__main__")
        module.__file__ = main_path
        module.__builtins__ = builtins
        module.__cached__ = None
        sys.modules["__main__"] = module
        started = time.perf_counter()
        try:
            if session is not None:
                _run_cell(job["code"], main_path, module.__dict__)
            else:
                with open(main_path, "rb") as handle:
                    source = handle.read()
                exec(compile(source, main_path, "exec", dont_inherit=True), module.__dict__)
            _run_atexit()
        except SystemExit as exc:
            _run_atexit()
            outcome["exitCode"] = _exit_code(exc)
        except BaseException as exc:  # noqa: BLE001 - report exactly what the program raised
            if isinstance(exc, KeyboardInterrupt) and host.stopped():
                outcome["stopped"] = True
                outcome["exitCode"] = None
            else:
                exc.__traceback__ = _strip_frames(exc.__traceback__, RUNNER_FILE)
                outcome["error"] = _describe(exc, main_path)
                outcome["exitCode"] = 130 if isinstance(exc, KeyboardInterrupt) else 1
                if isinstance(exc, ModuleNotFoundError):
                    outcome["missing"] = _missing(exc)
                try:
                    sys.excepthook(type(exc), exc, exc.__traceback__)
                except BaseException:
                    STDERR.write(outcome["error"]["traceback"])
        _flush_streams()
        outcome["durationMs"] = (time.perf_counter() - started) * 1000.0
    except BaseException as exc:  # the run could not be set up (e.g. a file outside the workdir)
        if isinstance(exc, KeyboardInterrupt) and host.stopped():
            outcome["stopped"] = True
            outcome["exitCode"] = None
        else:
            outcome["exitCode"] = 1
            message = "Mecha could not start the program: %s: %s\n" % (type(exc).__name__, exc)
            try:
                STDERR.write(message)
            except BaseException:
                pass
    finally:
        if session is not None:
            kept = [name for name in sys.modules if name not in _BASE["modules"]]
            session["modules"] = {name: sys.modules[name] for name in kept if name != "__main__"}
        _settle(_restore)
        _host = None
    return json.dumps(outcome)


{"run": run, "open_session": open_session, "close_session": close_session, "read_file": read_file}
