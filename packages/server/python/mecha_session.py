"""A session: one interpreter that runs job after job ("cells") in one `__main__`, as a notebook
kernel does. bootstrap.py makes one when its job says `"session": true`.

The job's channel (fd 3) then stays open as the session's control channel, one JSON object per
line from the server:
  {"op": "run", "cell", "code", "files", "stdin", "eof", "interactive", "returnFiles",
   "fileBytes"}                                 runs a cell (one at a time)
  {"op": "stdin", "cell", "data", "eof"}         more standard input for the running cell
  {"op": "interrupt", "cell"}                    KeyboardInterrupt in the running cell
  {"op": "read", "id", "path", "limit"}          a file of the working directory
and its end (EOF) ends the session: the interpreter finalizes as after main.py.

On the event channel, besides a run's events: `ready` once the session is set up; for each cell,
its `error`, `display` and `file` events, then `end` {"cell", "status", "interrupted", "n",
"marks"}, marked into stdout and stderr as a display is (see mecha_display.py), so that the
server knows the cell's output has all arrived once it has read up to the end's markers; and for
each `read`, {"type": "read", "id", "size", "content"} (base64) or {"type": "read", "id",
"error"}.

A cell's standard input is a pipe of its own (EOF where the cell's input ends); what the server
sends for it goes through a thread of ours that reads the control channel, which is also how an
interrupt arrives while the cell runs. The value of a cell's final expression is displayed (and
kept as `_`), unless the cell ends with `;`. Nothing here is trusted by the server beyond the
cell's own report: limits (time, memory, processes, output) are the server's and the kernel's.

Loaded by the bootstrap into a namespace of its own (never sys.modules).
"""

import ast
import builtins
import json
import os
import sys

CONTROL_HIGH_FD = 1001
SESSION_FILE = os.path.abspath(__file__) if "__file__" in globals() else "<mecha session>"
# The compiler flags of `from __future__ import …`: one cell's hold for the cells after it.
FUTURE_FLAGS = 0
for _name in ("nested_scopes", "generators", "division", "absolute_import", "with_statement",
              "print_function", "unicode_literals", "barry_as_FLUFL", "generator_stop",
              "annotations"):
    FUTURE_FLAGS |= getattr(__import__("__future__"), _name).compiler_flag


def final_expression(tree, source):
    """(the cell's statements, its final expression as an `ast.Interactive`, or None): a cell's
    last statement, an expression, is shown unless the cell ends with `;`."""
    body = tree.body
    if not body or not isinstance(body[-1], ast.Expr) or source.rstrip().endswith(";"):
        return tree, None
    module = ast.Module(body=body[:-1], type_ignores=[])
    return module, ast.Interactive(body=[body[-1]])


# The status a session's interpreter ends with once its control channel is gone.
SESSION_UNREACHABLE = 70


class Control:
    """The control channel, read by a thread of ours; messages for the main thread queued."""

    def __init__(self, fd, rest, session):
        import fcntl
        import _thread

        # Out of the way, as the event channel is (see bootstrap.Events).
        self.fd = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, CONTROL_HIGH_FD)
        os.close(fd)
        self.pending = rest
        self.session = session
        self.lock = _thread.allocate_lock()
        self.cells = []
        self.arrived = _thread.allocate_lock()
        self.arrived.acquire()
        self.closed = False
        # The cell the main thread has taken, and whether its input pipe is given yet.
        self.current = None
        self.given = False
        # The running cell's standard input: its pipe's write end and what is still to go in.
        self.stdin_fd = None
        self.stdin_data = []
        self.stdin_eof = False
        self.retired = []
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.register_at_fork(after_in_child=self.forget)

    def forget(self):
        """In a process the program forks: none of the session's channels."""
        for fd in (self.fd, self.stdin_fd, self.wake_r, self.wake_w, *self.retired):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.fd = self.stdin_fd = None
        self.retired = []

    def start(self):
        import _thread

        _thread.start_new_thread(self.serve, ())

    def next_cell(self):
        """The next `run` message, or None once the channel has ended."""
        while True:
            with self.lock:
                if self.cells:
                    self.current = self.cells.pop(0)
                    self.given = False
                    return self.current
                if self.closed:
                    return None
            self.arrived.acquire()

    def give_stdin(self, fd):
        """The running cell's standard input pipe: what its message and the `stdin` messages
        since brought goes in first, and the pipe is closed after it once its input has ended."""
        with self.lock:
            message = self.current or {}
            data = str(message.get("stdin") or "")
            self.stdin_fd = fd
            self.stdin_data = [data.encode("utf-8")] if data else []
            self.stdin_eof = bool(message.get("eof", True))
            self.given = True
        self.wake()

    def take_stdin(self):
        """The cell has ended: its input pipe is closed (by the thread, which may be writing)."""
        with self.lock:
            if self.stdin_fd is not None:
                self.retired.append(self.stdin_fd)
            self.stdin_fd = None
            self.stdin_data = []
            self.stdin_eof = False
            self.current = None
        self.wake()

    def wake(self):
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    def serve(self):
        import select

        while True:
            with self.lock:
                for fd in self.retired:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
                self.retired = []
                out = self.stdin_fd if self.stdin_data or self.stdin_eof else None
            if self.fd is None:
                return
            try:
                readable, writable, _ = select.select([self.fd, self.wake_r],
                                                      [out] if out is not None else [], [])
            except (OSError, ValueError):
                # The program closed the session's own descriptors: nothing can drive the
                # session any more, so it ends now (the server reports it lost) rather than
                # when its run's time is up.
                os._exit(SESSION_UNREACHABLE)
            if self.wake_r in readable:
                try:
                    os.read(self.wake_r, 4096)
                except OSError:
                    pass
            if writable:
                self.feed(out)
            if self.fd in readable and not self.receive():
                return

    def feed(self, fd):
        """Writes what the cell's input has waiting, as much as its pipe takes."""
        with self.lock:
            if fd != self.stdin_fd:
                return
            try:
                while self.stdin_data:
                    chunk = self.stdin_data[0]
                    written = os.write(fd, chunk)
                    if written < len(chunk):
                        self.stdin_data[0] = chunk[written:]
                        return
                    self.stdin_data.pop(0)
            except BlockingIOError:
                return
            except OSError:
                self.stdin_data = []
            if self.stdin_eof:
                self.retired.append(fd)
                self.stdin_fd = None
                self.stdin_eof = False

    def receive(self):
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            with self.lock:
                self.closed = True
            self.release()
            return False
        self.pending += data
        while b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            try:
                message = json.loads(line.decode("utf-8"))
            except ValueError:
                continue
            if isinstance(message, dict):
                self.handle(message)
        return True

    def more_stdin(self, message):
        """Input for a cell: into its pipe's queue once it runs, else into its message."""
        cell = message.get("cell")
        data = str(message.get("data") or "")
        eof = bool(message.get("eof"))
        current = self.current
        if current is not None and current.get("cell") == cell and self.given:
            if self.stdin_fd is None:
                return  # its input has ended
            if data:
                self.stdin_data.append(data.encode("utf-8"))
            self.stdin_eof = self.stdin_eof or eof
            return
        waiting = [m for m in ([current] if current else []) + self.cells if m.get("cell") == cell]
        if waiting:
            waiting[0]["stdin"] = str(waiting[0].get("stdin") or "") + data
            waiting[0]["eof"] = bool(waiting[0].get("eof")) or eof

    def release(self):
        try:
            self.arrived.release()
        except RuntimeError:
            pass  # already released: the main thread will find everything queued

    def handle(self, message):
        op = message.get("op")
        if op == "run":
            with self.lock:
                self.cells.append(message)
            self.release()
        elif op == "stdin":
            with self.lock:
                self.more_stdin(message)
            self.wake()
        elif op == "interrupt":
            self.session.interrupt(message.get("cell"))
        elif op == "read":
            self.session.read(message)


class Session:
    """The session's interpreter: set up once, then each cell as it comes."""

    def __init__(self, boot, job, events, depth):
        import signal
        import threading

        self.boot = boot
        self.events = events
        self.depth = depth
        self.root = os.getcwd()
        self.cell = None
        self.running = False
        # The cell an interrupt was asked for (before it started, it never starts).
        self.stopped = None
        self.interactive = False
        self.main_thread = threading.main_thread().ident
        # Before the descriptor limit is set: the channel moves above it.
        self.control = Control(boot["JOB_FD"], boot["JOB_REST"], self)
        boot["write_files"](self.root, job.get("files") or [])
        boot["apply_limits"](job.get("limits") or {})
        # Only while the cell may be answered, and has no input on its way already.
        self.open_stdin = boot["watch_input"](
            events, lambda: self.interactive and not self.control.stdin_data)
        self.display = boot["DISPLAY"]["Display"](events, job.get("marker"), boot["flush_io"])
        builtins.display = self.display.display
        boot["prepare_packages"](self.display, job.get("network") or "host")
        # As the interactive interpreter has them: no script, its directory first on the path.
        sys.argv = [""]
        sys.path[:] = [self.root] + [p for p in sys.path if p and p != boot["HERE"]]
        boot["unshadow"](self.root)
        import types

        self.module = types.ModuleType("__main__")
        self.module.__builtins__ = builtins
        sys.modules["__main__"] = self.module
        self.flags = 0
        # A cell's standard input is read through a sys.stdin of its own (nothing read ahead for
        # one cell is given to the next); the interpreter's first never closes fd 0.
        self.stdin_options = {"encoding": sys.stdin.encoding, "errors": sys.stdin.errors}
        self.first_stdin = sys.stdin
        self.stdin = None
        # Cancel and time limits interrupt the running cell, as Ctrl-C does a notebook's.
        signal.signal(signal.SIGINT, self.on_sigint)
        self.control.start()
        events.emit({"type": "ready"})

    def on_sigint(self, signum, frame):
        if self.running:
            raise KeyboardInterrupt

    def interrupt(self, cell):
        """From the control thread: interrupts the main thread if `cell` is running."""
        import signal

        self.stopped = cell
        if self.running and cell == self.cell:
            signal.pthread_kill(self.main_thread, signal.SIGINT)

    def read(self, message):
        """From the control thread: a file of the working directory, as an event."""
        reply = {"type": "read", "id": message.get("id")}
        try:
            found = self.boot["FILES"]["read_file"](self.root, str(message.get("path")),
                                                    int(message.get("limit") or 0))
        except Exception as error:  # noqa: BLE001 - the server is told, whatever failed
            found = {"error": "unreadable", "detail": str(error)}
        reply.update(found)
        self.events.emit(reply)

    def run(self):
        """Runs cells until the control channel ends; then the interpreter ends as it would
        after main.py: returns (0, False)."""
        while True:
            message = self.control.next_cell()
            if message is None:
                return 0, False
            try:
                self.run_cell(message)
            except KeyboardInterrupt:
                pass  # an interrupt that came as the cell was ending: it has ended

    def send_files(self):
        """Nothing to send once a session has ended: each cell sends its own."""

    def new_stdin(self, message):
        """Fresh standard input for a cell: its own pipe on fd 0, fed by the control thread."""
        read_end, write_end = os.pipe()
        os.dup2(read_end, 0)
        os.close(read_end)
        os.set_blocking(write_end, False)
        self.control.give_stdin(write_end)
        current = sys.stdin
        if current is None or current is self.first_stdin or current is self.stdin:
            if self.open_stdin is not None:
                self.stdin = self.open_stdin(self.first_stdin)
            else:
                self.stdin = open(0, "r", closefd=False, **self.stdin_options)  # noqa: SIM115
            sys.stdin = self.stdin

    def run_cell(self, message):
        boot = self.boot
        self.cell = message.get("cell")
        name = "<cell %s>" % self.cell
        source = str(message.get("code") or "")
        status = 0
        interrupted = False
        self.new_stdin(message)
        self.interactive = bool(message.get("interactive"))
        try:
            try:
                try:
                    boot["write_files"](self.root, message.get("files") or [])
                    self.remember(name, source)
                    self.execute(name, source)
                finally:
                    self.running = False
                    self.interactive = False
                    self.show_figures()
                    boot["flush_io"]()
            except SystemExit as exit_:
                status = boot["system_exit_status"](exit_.code)
            except BaseException as exc:  # noqa: BLE001 - report exactly what the cell raised
                interrupted = isinstance(exc, KeyboardInterrupt)
                status = self.report(exc, name)
        except KeyboardInterrupt:
            interrupted = True
            status = 1
        finally:
            self.running = False
            self.control.take_stdin()
        boot["FILES"]["send_files"](self.root, message.get("returnFiles") or [],
                                    message.get("fileBytes") or 0, self.events.emit)
        self.display.mark({"type": "end", "cell": self.cell, "status": status,
                           "interrupted": interrupted})

    def remember(self, name, source):
        """The cell's source where tracebacks and inspect find it."""
        import linecache

        linecache.cache[name] = (len(source), None, source.splitlines(True), name)

    def execute(self, name, source):
        boot = self.boot
        scope = self.module.__dict__
        tree = compile(source, name, "exec", ast.PyCF_ONLY_AST | self.flags, dont_inherit=True)
        body, last = final_expression(tree, source)
        code = compile(body, name, "exec", self.flags, dont_inherit=True)
        self.flags |= code.co_flags & FUTURE_FLAGS
        self.running = True
        if self.stopped is not None and self.stopped == self.cell:
            raise KeyboardInterrupt
        boot["FrameRoot"]().exec(code, scope, self.depth)
        if last is None:
            return
        shown = compile(last, name, "single", self.flags, dont_inherit=True)
        hook = sys.displayhook
        sys.displayhook = self.show
        try:
            boot["FrameRoot"]().exec(shown, scope, self.depth)
        finally:
            if sys.displayhook is self.show:
                sys.displayhook = hook

    def show(self, value):
        """The final expression's value: displayed, and kept as `_` (as sys.displayhook does)."""
        if value is None:
            return
        builtins._ = None
        self.display.display(value)
        builtins._ = value

    def show_figures(self):
        try:
            self.boot["DISPLAY"]["show_open_figures"]()
        except Exception:  # noqa: BLE001 - a figure that does not draw is not the cell's error
            pass

    def report(self, exc, name):
        """An exception the cell raised: described to the server and printed, as CPython
        prints one; returns the cell's status."""
        boot = self.boot
        strip = boot["RUN_ERROR"]["strip_frames"]
        exc.__traceback__ = strip(strip(exc.__traceback__, boot["BOOTSTRAP_FILE"]), SESSION_FILE)
        error = boot["RUN_ERROR"]["describe"](exc, name)
        self.events.emit(dict(error, type="error",
                              name=boot["RUN_ERROR"]["qualified_name"](type(exc))))
        try:
            if sys.excepthook is sys.__excepthook__ and getattr(sys, "stderr", None) is not None:
                # The interpreter's own printer reads no source but from files: this one shows
                # each line of a cell, as a notebook does.
                import traceback

                sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, exc.__traceback__
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
            else:
                boot["print_exception"](exc)
        except SystemExit as exit_:
            return boot["system_exit_status"](exit_.code)
        except Exception:  # noqa: BLE001 - a stderr that cannot take it: the error event has it
            pass
        return 1
