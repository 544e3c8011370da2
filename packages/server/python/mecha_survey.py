"""Mecha's survey of the interpreter as runs see it.

Run once at start-up as a program of its own, through the same start-up path, sandbox and
environment as every run: what it finds is what a program finds. It prints one JSON document:

- `packages`: the distributions a program can import (GET /runtimes), the first of each name
  on sys.path, as importlib.metadata sees them;
- `fonts`: matplotlib's font cache, built here (where fonts are found as runs find them) so that
  no run builds it again: {"name": "fontlist-vNNN.json", "text": ...}, or null without
  matplotlib;
- `preload`: for each module named in argv[1] (comma-separated), null when it imports and
  leaves no thread running (a process with threads cannot be forked safely), else why not.
"""

import json
import os
import re
import sys


def distributions():
    from importlib import metadata

    found = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:  # noqa: BLE001 - a broken distribution is not importable either
            continue
        if not name or not version:
            continue
        found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), {"name": name, "version": version})
    return sorted(found.values(), key=lambda entry: entry["name"].lower())


def font_cache():
    from importlib.util import find_spec

    if find_spec("matplotlib") is None:
        return None
    cache = os.path.join(os.environ.get("TMPDIR") or "/tmp", "mecha-font-cache")
    os.environ["MPLCONFIGDIR"] = cache
    from matplotlib import font_manager

    name = "fontlist-v%s.json" % font_manager.FontManager.__version__
    with open(os.path.join(cache, name), encoding="utf-8") as handle:
        return {"name": name, "text": handle.read()}


def threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def preload(names):
    import importlib

    problems = {}
    for name in names:
        before = threads()
        try:
            importlib.import_module(name)
            # Programs that use matplotlib use pyplot: preloading one preloads the other.
            if name == "matplotlib":
                importlib.import_module("matplotlib.pyplot")
        except BaseException as error:  # noqa: BLE001 - report exactly why it does not import
            problems[name] = "%s: %s" % (type(error).__name__, error)
            continue
        started = threads() - before
        problems[name] = (
            None if started <= 0 else "importing it leaves %d thread(s) running" % started
        )
    return problems


def main():
    names = [name for name in (sys.argv[1] if len(sys.argv) > 1 else "").split(",") if name]
    report = {"packages": [], "fonts": None, "preload": {}}
    try:
        report["packages"] = distributions()
    except Exception as error:  # noqa: BLE001 - a broken path entry lists nothing, and says so
        print("could not list the distributions: %s" % error, file=sys.stderr)
    try:
        report["fonts"] = font_cache()
    except Exception as error:  # noqa: BLE001 - runs then build the cache themselves
        print("matplotlib's font cache could not be built: %s" % error, file=sys.stderr)
    report["preload"] = preload(names)
    sys.stdout.write(json.dumps(report))


main()
