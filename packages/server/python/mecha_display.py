"""Rich output for a run: the builtin display() (as Jupyter's), matplotlib's inline backend, and
how each display reaches the server in program order relative to stdout and stderr.

A display is a MIME bundle: {"text/plain": ..., "image/png": <base64>, "text/html": ..., ...},
every value a string, always with text/plain. It travels on the event channel as
{"type": "display", "n", "marks", "data", "metadata"}; stdout and stderr travel on their own
pipes. To keep the order, Display.send flushes the program's sys.stdout and sys.stderr and
writes marker n (ESC "MECHA" <run marker> "#" n BEL, a few bytes the server removes) into each
standard stream that is still the run's own pipe, then sends display n naming the streams it
marked (`marks`: 1 stdout, 2 stderr). The server holds what follows a marker until its display
has gone out (see OutputOrder in src/runtime/outputOrder.ts).

Loaded by the bootstrap into a namespace of its own (never sys.modules); the inline backend is
mecha_inline.py, imported as `_mecha_inline`.
"""

import os
import sys

BINARY = ("image/png", "image/jpeg")
# The _repr_*_ methods display() asks an object for, as Jupyter does, by MIME type.
REPR_METHODS = (
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("image/svg+xml", "_repr_svg_"),
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("application/json", "_repr_json_"),
)
INLINE_MODULE = "_mecha_inline"
INLINE_BACKEND = "module://" + INLINE_MODULE


def as_text(mime, value):
    """One representation as the string the protocol carries: bytes of an image base64, other
    bytes UTF-8, JSON values as JSON text. None when it cannot be one (it is left out)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value)
        if mime in BINARY:
            import base64

            return base64.b64encode(value).decode("ascii")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        return str(value)
    if mime == "application/json" or mime.endswith("+json"):
        import json

        try:
            return json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            return None
    return None


def _call(obj, name, *args, **kwargs):
    """obj.name(*args, **kwargs), or None when it has no such method or the method fails."""
    try:
        method = getattr(obj, name, None)
        if method is None or not callable(method) or isinstance(obj, type):
            return None
        return method(*args, **kwargs)
    except Exception:  # noqa: BLE001 - a representation that fails is left out, as in Jupyter
        return None


def plain(obj):
    """text/plain: repr(), or what object's own repr says when that fails."""
    try:
        return str(repr(obj))
    except Exception:  # noqa: BLE001
        try:
            return object.__repr__(obj)
        except Exception:  # noqa: BLE001
            return "<unrepresentable object>"


def json_safe(value):
    """`value` if it encodes as strict JSON (metadata must), else None."""
    import json

    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError, RecursionError):
        return None


def is_figure(obj):
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def figure_png(figure):
    """A figure as PNG bytes and their pixel size, as a notebook's inline backend draws it."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    png = buffer.getvalue()
    size = {}
    if png[12:16] == b"IHDR":
        size = {"width": int.from_bytes(png[16:20], "big"),
                "height": int.from_bytes(png[20:24], "big")}
    return png, size


def mime_bundle(obj, include=None, exclude=None):
    """The bundle Jupyter's display() makes of `obj`: its _repr_mimebundle_, then each
    _repr_*_ it has (a matplotlib figure drawn as PNG), and repr() as text/plain."""
    data, metadata = {}, {}
    bundle = _call(obj, "_repr_mimebundle_", include=include, exclude=exclude)
    if isinstance(bundle, tuple) and len(bundle) == 2:
        bundle, extra = bundle
        if isinstance(extra, dict):
            metadata.update(extra)
    if isinstance(bundle, dict):
        for mime, value in bundle.items():
            text = as_text(mime, value) if isinstance(mime, str) else None
            if text is not None:
                data[mime] = text
    for mime, name in REPR_METHODS:
        if mime in data:
            continue
        value = _call(obj, name)
        if isinstance(value, tuple) and len(value) == 2:
            value, extra = value
            if isinstance(extra, dict):
                metadata[mime] = extra
        text = None if value is None else as_text(mime, value)
        if text is not None:
            data[mime] = text
    if "image/png" not in data and is_figure(obj):
        try:
            png, size = figure_png(obj)
            data["image/png"] = as_text("image/png", png)
            metadata["image/png"] = size
        except Exception:  # noqa: BLE001 - a figure that does not draw is shown as text
            pass
    if "text/plain" not in data:
        data["text/plain"] = plain(obj)
    keep = lambda mime: mime == "text/plain" or (  # noqa: E731
        (include is None or mime in include) and (exclude is None or mime not in exclude))
    data = {mime: text for mime, text in data.items() if keep(mime)}
    metadata = {key: value for key, value in metadata.items() if keep(key)}
    return data, json_safe(metadata) or {}


def raw_bundle(obj):
    """display(..., raw=True): `obj` is a bundle already."""
    data = {}
    if isinstance(obj, dict):
        for mime, value in obj.items():
            text = as_text(mime, value) if isinstance(mime, str) else None
            if text is not None:
                data[mime] = text
    data.setdefault("text/plain", "" if isinstance(obj, dict) else plain(obj))
    return data


def pipe_identity(fd):
    """What `fd` is open on: its device and inode; where fstat gives neither (Windows, for a pipe
    or NUL), its file type and the OS handle behind it, which dup2 onto `fd` changes."""
    try:
        stat = os.fstat(fd)
    except OSError:
        return None
    if stat.st_dev == 0 and stat.st_ino == 0:
        try:
            import msvcrt
            return stat.st_mode, msvcrt.get_osfhandle(fd)
        except (ImportError, OSError):
            return None
    return stat.st_dev, stat.st_ino


class Display:
    """The run's display(): each display sent as an event, marked into stdout and stderr."""

    def __init__(self, events, marker, flush):
        self.events = events
        self.set_marker(marker)
        self.flush = flush
        self.count = 0
        # The run's own pipes: a stream the program has pointed elsewhere is never marked.
        self.pipes = {fd: pipe_identity(fd) for fd in (1, 2)}

    def set_marker(self, marker):
        """The marker (the job's) written where each display falls in stdout and stderr."""
        self.marker = b"\x1bMECHA" + marker.encode("ascii") + b"#" if marker else None

    def display(self, *objs, include=None, exclude=None, metadata=None, transient=None,
                display_id=None, raw=False, clear=False, **kwargs):
        """Shows each object as rich output, as Jupyter's display() does (its text/plain
        printed, in a process that cannot send displays)."""
        for obj in objs:
            if raw:
                data, extra = raw_bundle(obj), {}
            else:
                data, extra = mime_bundle(obj, include, exclude)
            if isinstance(metadata, dict):
                extra.update(json_safe(metadata) or {})
            self.send(data, extra)

    def figure(self, figure):
        """Sends a matplotlib figure (the inline backend's plt.show())."""
        self.display(figure)

    def send(self, data, metadata):
        events = self.events
        if events.fd is None or os.getpid() != events.pid:
            # A forked child: no event channel; its text, as print() would show it.
            self.flush()
            stdout = getattr(sys, "stdout", None)
            if stdout is not None:
                stdout.write(data.get("text/plain", "") + "\n")
            return
        event = {"type": "display", "data": data}
        if metadata:
            event["metadata"] = metadata
        self.mark(event)

    def mark(self, event):
        """Sends `event` with the next marker number, that marker written first into each
        standard stream still the run's own pipe (the program's streams flushed before)."""
        events = self.events
        with events.lock:
            self.flush()
            self.count += 1
            marks = 0
            for bit, fd in ((1, 1), (2, 2)):
                identity = self.pipes.get(fd)
                if self.marker is None or identity is None or pipe_identity(fd) != identity:
                    continue
                try:
                    os.write(fd, self.marker + b"%d\x07" % self.count)
                    marks |= bit
                except OSError:
                    pass
            event["n"] = self.count
            event["marks"] = marks
            events.write(event)


# --- matplotlib ---------------------------------------------------------------------------


def font_cache(here):
    """The font cache a run's matplotlib configuration is seeded with (built at start-up in
    `here`/matplotlib), as (path, name) pairs; none without it."""
    cache = os.path.join(here, "matplotlib")
    try:
        return tuple((os.path.join(cache, name), name) for name in os.listdir(cache))
    except OSError:
        return ()


def seed_config(here, cache=None):
    """matplotlib's configuration directory ($MPLCONFIGDIR, the run's own) with the font cache
    built at start-up (`cache`, from font_cache(here) when not given), so that no run builds it
    again."""
    target = os.environ.get("MPLCONFIGDIR")
    if not target:
        return
    if cache is None:
        cache = font_cache(here)
    try:
        try:
            os.mkdir(target)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(target, exist_ok=True)
        for source, name in cache:
            link = os.path.join(target, name)
            try:
                os.symlink(source, link)
            except FileExistsError:
                pass
            except OSError:
                link_or_copy(source, link)
    except OSError:
        pass


def link_or_copy(source, link):
    """A symbolic link, or (Windows without the privilege to make one) a copy."""
    try:
        os.symlink(source, link)
    except OSError:
        import shutil
        if os.path.isdir(source):
            shutil.copytree(source, link)
        else:
            shutil.copy2(source, link)


def inline_module(here, lazy):
    """The inline backend as module `_mecha_inline` (loaded on first use when `lazy`: matplotlib
    may still be importing itself)."""
    module = sys.modules.get(INLINE_MODULE)
    if module is not None:
        return module
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        INLINE_MODULE, os.path.join(here, "mecha_inline.py"))
    if lazy:
        spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[INLINE_MODULE] = module
    spec.loader.exec_module(module)
    return module


def use_inline(here, matplotlib, preloading=False):
    """Makes the inline backend matplotlib's, unless the program chose one (matplotlib.use(),
    $MPLBACKEND): True once matplotlib has settled its backend either way."""
    namespace = vars(matplotlib)
    original = namespace.get("rcParamsOrig")
    params = namespace.get("rcParams")
    if original is None or params is None:
        return False  # still importing
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(pyplot, "_backend_mod", None) is not None:
        return True
    # pyplot puts matplotlib's own choice off until a figure needs a backend (the sentinel).
    auto = getattr(sys.modules.get("matplotlib.rcsetup"), "_auto_backend_sentinel", None)
    backend = dict.get(params, "backend")
    if backend is not auto and backend != dict.get(original, "backend"):
        return True
    inline_module(here, lazy=not preloading)
    dict.__setitem__(params, "backend", INLINE_BACKEND)
    if preloading:
        import matplotlib.pyplot as plt

        plt.switch_backend(INLINE_BACKEND)
    return True


def show_open_figures():
    """Sends the figures a program left open (and did not show since), then closes them."""
    module = sys.modules.get(INLINE_MODULE)
    # A module still waiting to load (see inline_module) has drawn nothing.
    if module is not None and type(module) is type(sys):
        module.flush_figures()
