"""Tells the server when an interactive run waits for its standard input.

An `input` event goes out for each input() call (an audit hook, PEP 578, sees the call before its
prompt is written) and, on POSIX systems, for any other read of sys.stdin that has had nothing to
read for 50 ms: `sys.stdin.readline()`, `sys.stdin.read()`, `for line in sys.stdin`, the same
through `sys.stdin.buffer`. Those have no prompt (""). Reads of fd 0 by other means (`os.read(0, …)`, a
child process) are not seen. Windows' pipes cannot be polled with select(): there only input()
is reported.
"""

import _thread
import io
import os
import sys

# How long a read waits for input before the program is said to wait for it.
GRACE_S = 0.05


def call_site():
    """Where the read was called from: the calling frame's id, code and instruction, and the
    thread; None when no Python frame called it (a thread started on the read itself). The frame
    itself is not kept: its locals live on while it is referenced."""
    try:
        frame = sys._getframe(2)
    except ValueError:
        return None
    return id(frame), frame.f_code, frame.f_lasti, _thread.get_ident()


def watch_input(events, active=None):
    """Reports input() calls and waiting reads of sys.stdin as `input` events, while `active()`
    says the program may be answered (always, for a run). Returns `open_stdin(like)`, which makes
    a sys.stdin as `like` is, whose waiting reads are reported."""
    # The input() call last reported, by its call site: a read of standard input made by that
    # same call is the one it already reported, until it has read its line.
    asked = [None]

    def wanted():
        if os.getpid() != events.pid:
            return False
        return active is None or active()

    def hook(event, args):
        if event != "builtins.input" or not wanted():
            return
        # input() fails at once without these: no event then.
        if getattr(sys, "stdin", None) is None or getattr(sys, "stdout", None) is None:
            return
        asked[0] = call_site()
        prompt = args[0] if args else None
        # str() of anything else could run the program's own code a second time.
        text = str(prompt) if isinstance(prompt, (str, int, float)) else ""
        events.emit({"type": "input", "prompt": text})

    sys.addaudithook(hook)
    if os.name != "posix":
        return None

    import select

    def before_read(site, size):
        """Called as a read of fd 0 begins: an event if it will wait and is not input()'s.
        Returns whether it is input()'s."""
        if size == 0 or not wanted():
            return False
        if site is not None and site == asked[0]:
            return True
        try:
            # A non-blocking fd 0 never waits: its reads fail at once instead. Input that comes
            # within the grace (the rest of a large write, say) was on its way: nobody is asked.
            ready = not os.get_blocking(0) or select.select([0], [], [], GRACE_S)[0]
        except (OSError, ValueError):
            return False  # fd 0 closed: the read itself says so
        if not ready:
            events.emit({"type": "input", "prompt": ""})
        return False

    def after_read(asking, data):
        # input()'s line has come (or the end of input): the next read at that site is not its.
        if asking and data is not None and (not data or b"\n" in data):
            asked[0] = None

    class Stdin(io.FileIO):
        """fd 0, as CPython opens it for sys.stdin, telling `before_read` of each read."""

        def readinto(self, buffer):
            try:
                size = memoryview(buffer).nbytes
            except TypeError:
                size = -1  # FileIO says what is wrong with it
            asking = before_read(call_site(), size)
            count = super().readinto(buffer)
            if asking and count is not None:
                after_read(asking, bytes(memoryview(buffer).cast("B")[:count]))
            return count

        def read(self, size=-1):
            if size is None or size < 0:
                return self.readall()
            asking = before_read(call_site(), size)
            data = super().read(size)
            after_read(asking, data)
            return data

        def readall(self):
            site = call_site()
            chunks = []
            while True:
                asking = before_read(site, -1)
                chunk = super().read(io.DEFAULT_BUFFER_SIZE)
                after_read(asking, chunk)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)

    def open_stdin(like):
        """A sys.stdin over fd 0 as CPython's create_stdio makes one for a pipe, with `like`'s
        encoding, errors and write-through."""
        raw = Stdin(0, "rb", closefd=False)
        raw.name = "<stdin>"
        buffered = io.BufferedReader(raw, max(raw._blksize, 1))
        text = io.TextIOWrapper(buffered, encoding=like.encoding, errors=like.errors, newline="\n",
                                write_through=getattr(like, "write_through", False))
        text.mode = "r"
        return text

    return open_stdin
