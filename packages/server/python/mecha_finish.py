"""The end of a forked run: Py_FinalizeEx for an interpreter forked from a zygote, as far as a
program can tell (see `finish_forked`). Loaded where runs are forked, once, by the zygote (see
mecha_zygote.py), and on Windows (see bootstrap.run_windows); a run that exits through CPython's
own finalization (the spawn start-up path) never loads it.
"""

import builtins
import os
import sys


def _file_is_closed(stream):
    try:
        return bool(stream.closed)
    except Exception:  # noqa: BLE001 - CPython treats a stream without `closed` as open
        return False


def _write_unraisable(exc, obj):
    """CPython's PyErr_WriteUnraisable(obj), so that the message is the interpreter's own."""
    try:
        import ctypes

        api = ctypes.pythonapi
        api.PyErr_SetObject.argtypes = [ctypes.py_object, ctypes.py_object]
        api.PyErr_SetObject.restype = None
        api.PyErr_WriteUnraisable.argtypes = [ctypes.py_object]
        api.PyErr_WriteUnraisable.restype = None
        api.PyErr_SetObject(type(exc), exc)
        api.PyErr_WriteUnraisable(obj)
    except Exception:  # noqa: BLE001
        pass


def flush_std_files():
    """CPython's flush of sys.stdout and sys.stderr at exit: False when either failed."""
    ok = True
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name, None)
        if stream is None or _file_is_closed(stream):
            continue
        try:
            stream.flush()
        except Exception as exc:  # noqa: BLE001
            if name == "stdout":
                _write_unraisable(exc, stream)
            ok = False
    return ok


def _clear_module_dict(namespace):
    """CPython's _PyModule_ClearDict: single-underscore names first, then the rest."""
    for names in ([k for k in namespace if isinstance(k, str) and k[:1] == "_" and k[1:2] != "_"],
                  [k for k in namespace if k != "__builtins__"]):
        for key in names:
            try:
                namespace[key] = None
            except Exception:  # noqa: BLE001
                pass


class Since:
    """sys.modules and the builtins as the program found them, by their dicts' version tags
    (PEP 509: a dict's tag changes whenever it does), so that a run that changed neither is
    finished without looking at every module and builtin (each look writes a reference count,
    and so copies a page of the zygote's). Only on CPython 3.11 and 3.12 (64-bit), whose
    PyDictObject keeps the tag after its size; elsewhere `changed` always says True."""

    TAG_OFFSET = 24  # PyDictObject: ob_refcnt, ob_type, ma_used, then ma_version_tag

    def __init__(self, main):
        from _weakref import ref

        self.main = ref(main)
        self.tag = None
        if sys.implementation.name != "cpython" or sys.version_info[:2] not in ((3, 11), (3, 12)):
            return
        if sys.maxsize < 2**32:
            return
        try:
            import ctypes

            self.tag = lambda namespace: ctypes.c_uint64.from_address(
                id(namespace) + self.TAG_OFFSET).value
            self.tags = (self.tag(sys.modules), self.tag(builtins.__dict__))
        except (ImportError, AttributeError, OSError, ValueError):
            self.tag = None

    def changed(self):
        """Whether sys.modules or the builtins' namespace changed since the program began."""
        if self.tag is None:
            return True
        return (self.tag(sys.modules), self.tag(builtins.__dict__)) != self.tags


def finish_forked(status, zygote_modules, builtins_before, since=None):
    """Py_FinalizeEx for an interpreter forked from a zygote, as far as a program can tell:
    threads joined, atexit, the standard streams flushed, garbage collected, and the modules the
    program loaded (its `__main__` first, in import order) torn down as CPython tears them down.
    What the zygote built stays (tearing that down is most of a full finalization's cost, and
    nothing of the program's sees it). `zygote_modules` is sys.modules as the run began, and
    `builtins_before` the builtins' namespace. Returns the exit status (120 when a flush failed)."""
    import gc
    # The interpreter's own (always loaded): `weakref`, which a fresh interpreter has not
    # imported, would cost each run an import.
    from _weakref import ref

    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:  # noqa: BLE001
            pass
    try:
        import atexit

        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001
        pass
    if not flush_std_files():
        status = 120
    if gc.isenabled():
        gc.collect()
    # finalize_modules: the standard streams back to the originals, the program's modules out of
    # sys.modules (in its order: `__main__` early), builtins as they were, a collection, then
    # whatever is still alive cleared, last imported first.
    for name in ("stdin", "stdout", "stderr"):
        try:
            setattr(sys, name, getattr(sys, "__%s__" % name))
        except AttributeError:
            pass
    mine = []
    current = builtins.__dict__
    if since is not None and not since.changed():
        # Neither changed since the program began: its one module is its `__main__`, and the
        # one builtin the run added is display().
        main = since.main()
        if main is not None and sys.modules.get("__main__") is main:
            mine.append(ref(main))
            del sys.modules["__main__"]
        main = None
        if "display" not in builtins_before:
            current.pop("display", None)
    else:
        for name, module in list(sys.modules.items()):
            if zygote_modules.get(name) is module:
                continue
            if isinstance(module, type(sys)):
                mine.append(ref(module))
                sys.modules[name] = None
            module = None
        for name in [name for name, value in sys.modules.items() if value is None]:
            del sys.modules[name]
        for key in [key for key in current if key not in builtins_before]:
            del current[key]
        for key, value in builtins_before.items():
            if current.get(key, key) is not value:
                current[key] = value
    gc.collect()
    for weak in reversed(mine):
        module = weak()
        if module is not None:
            _clear_module_dict(module.__dict__)
        module = None
    if not flush_std_files():
        status = 120
    return status


def die_of_sigint():
    """How CPython ends after an uncaught KeyboardInterrupt: killed by SIGINT."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(130)
