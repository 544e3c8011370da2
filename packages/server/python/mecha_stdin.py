"""Tells the server when an interactive run waits for its standard input.

An `input` event goes out for each input() call (an audit hook, PEP 578, sees the call before its
prompt is written) and, on POSIX systems, for any other read of sys.stdin that finds nothing to
read yet: `sys.stdin.readline()`, `sys.stdin.read()`, `for line in sys.stdin`, the same through
`sys.stdin.buffer`. Those have no prompt (""). Reads of fd 0 by other means (`os.read(0, …)`, a
child process) are not seen. Windows' pipes cannot be polled with select(): there only input()
is reported.
"""

import io
import os
import sys


def watch_input(events, active=None):
    """Reports input() calls and waiting reads of sys.stdin as `input` events, while `active()`
    says the running cell is interactive (a session's) or always (a run's). Returns
    `open_stdin(encoding, errors)`, which makes a sys.stdin whose waiting reads are reported."""
    # The input() call last reported: its caller's frame and instruction. A read of standard
    # input made by that same call is the one it already reported.
    asked = [None, -1]

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
        caller = sys._getframe(1)
        asked[0], asked[1] = caller, caller.f_lasti
        prompt = args[0] if args else None
        # str() of anything else could run the program's own code a second time.
        text = str(prompt) if isinstance(prompt, (str, int, float)) else ""
        events.emit({"type": "input", "prompt": text})

    sys.addaudithook(hook)
    if os.name != "posix":
        return None

    import select

    def before_read(caller):
        """Called as a read of fd 0 begins: an event if it will wait, and is not input()'s."""
        if not wanted() or (caller is asked[0] and caller.f_lasti == asked[1]):
            return
        try:
            ready = select.select([0], [], [], 0)[0]
        except (OSError, ValueError):
            return  # fd 0 closed: the read itself says so
        if not ready:
            events.emit({"type": "input", "prompt": ""})

    class Stdin(io.FileIO):
        """fd 0, as CPython opens it for sys.stdin, telling `before_read` of each read."""

        def readinto(self, buffer):
            before_read(sys._getframe(1))
            return super().readinto(buffer)

        def read(self, size=-1):
            if size is None or size < 0:
                return self.readall()
            before_read(sys._getframe(1))
            return super().read(size)

        def readall(self):
            caller = sys._getframe(1)
            chunks = []
            while True:
                before_read(caller)
                chunk = super().read(io.DEFAULT_BUFFER_SIZE)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)

    def open_stdin(encoding, errors):
        raw = Stdin(0, "rb", closefd=False)
        raw.name = "<stdin>"
        # As CPython's create_stdio makes sys.stdin for a pipe.
        text = io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding, errors=errors,
                                newline="\n")
        text.mode = "r"
        return text

    return open_stdin
