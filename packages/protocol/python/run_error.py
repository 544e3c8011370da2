"""The description of an uncaught exception that Mecha reports as a run's `error`.

One module, used by the server's bootstrap and by the in-browser runner, so that both describe
a failure the same way: the protocol's `RunError` (`type`, `message`, `line`, `traceback`),
with `line` in the user's own program (the innermost frame there) and the runner's own frames
left out of the traceback, as CPython would show it for `python3 main.py`.

Loaded by its runners into a namespace of their own, never imported by name: a program's
module called `run_error` must not find this one in `sys.modules`.
"""


def strip_frames(tb, filename):
    """The traceback `tb` without the frames of code from `filename` (the runner's own)."""
    head = None
    tail = None
    while tb is not None:
        following = tb.tb_next
        if tb.tb_frame.f_code.co_filename != filename:
            if tail is None:
                head = tb
            else:
                tail.tb_next = tb
            tail = tb
        tb = following
    if tail is not None:
        tail.tb_next = None
    return head


def qualified_name(kind):
    """`ZeroDivisionError`, `json.decoder.JSONDecodeError`: builtins and `__main__` unprefixed."""
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = "%s.%s" % (kind.__module__, name)
    return name


def describe(exc, main_path):
    """The protocol's `RunError` for `exc`, raised by the program at `main_path`."""
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
    try:
        message = str(exc.msg) if isinstance(exc, SyntaxError) else str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that raises still gets a description
        message = "<exception str() failed>"
    try:
        text = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
    except Exception:  # noqa: BLE001
        text = "%s: %s\n" % (qualified_name(kind), message)
    return {
        "type": qualified_name(kind),
        "message": message,
        "line": line if isinstance(line, int) and line > 0 else None,
        "traceback": text,
    }
