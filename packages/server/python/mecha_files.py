"""The files a run sends back (a request's `returnFiles`), read once the program has ended, from
inside the sandbox, and sent on the event channel before the run's end is reported, one event
per file: {"type": "file", "path", "size", "content"} (content base64, or null once the byte
budget, the run's output limit, is spent; the server shares out what the limit has left).

Patterns are globs relative to the working directory (`*.png`, `out/*.csv`, `**/*.json`), with
`*` and `?` not matching a leading dot, as the shell's. Only what is inside the working directory
is read: each path component is opened relative to its directory, never following a symbolic
link (nor one a process of the run swaps in meanwhile), and only regular files are sent. Where the
platform cannot open a name relative to a directory without following links (Windows: no
dir_fd, O_NOFOLLOW nor O_DIRECTORY), directories are walked by path instead, each component
checked with lstat first: a symbolic link or junction is never followed, though one swapped in
between the check and the open would be (such a run has process isolation only anyway).

Loaded by the bootstrap into a namespace of its own (never sys.modules).
"""

import base64
import fnmatch
import os
import stat

MAX_FILES = 1000
BY_PATH = os.open not in os.supports_dir_fd or not hasattr(os, "O_NOFOLLOW")
if BY_PATH:
    # A directory is its path; a file is opened in binary mode (the C runtime's text mode would
    # turn CR LF into LF and stop at the first Ctrl-Z).
    DIRECTORY = "directory"
    FILE = os.O_RDONLY | getattr(os, "O_BINARY", 0)
else:
    DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# A symbolic link, junction or other reparse point (Windows' stat.FILE_ATTRIBUTE_REPARSE_POINT).
REPARSE_POINT = 0x400


def _open(dir_fd, name, flags):
    """`name` in the directory `dir_fd` (None: `name` is the root) opened without following a
    link: a descriptor, or a path for a directory when walking `BY_PATH`; None if it cannot be."""
    if BY_PATH:
        return _open_by_path(dir_fd, name, flags)
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError:
        return None


def _open_by_path(parent, name, flags):
    if parent is not None:
        # One component only: no separator, no drive ("D:x" would leave the root), no stream.
        if any(char in name for char in "/\\:") or name in ("", ".", ".."):
            return None
        name = os.path.join(parent, name)
    try:
        info = os.lstat(name)
    except (OSError, ValueError):
        return None
    if stat.S_ISLNK(info.st_mode) or getattr(info, "st_file_attributes", 0) & REPARSE_POINT:
        return None
    if flags == DIRECTORY:
        return name if stat.S_ISDIR(info.st_mode) else None
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        return os.open(name, flags)
    except (OSError, ValueError):
        return None


def _close(handle):
    """Closes what `_open` returned (a directory walked by path has nothing to close)."""
    if isinstance(handle, int):
        os.close(handle)


def _names(dir_fd, pattern):
    """Entries of a directory that `pattern` (one path segment) matches, sorted."""
    if not any(char in pattern for char in "*?["):
        return [pattern]
    try:
        names = os.listdir(dir_fd)
    except OSError:
        return []
    hidden = pattern.startswith(".")
    return sorted(name for name in names
                  if (hidden or not name.startswith(".")) and fnmatch.fnmatchcase(name, pattern))


def _walk(dir_fd, parts, prefix):
    """(path, directory fd, name) of each entry matching `parts` below `dir_fd`."""
    head, rest = parts[0], parts[1:]
    if head == "**":
        # No directory, or one more (the pattern kept): "**" alone matches every file below.
        yield from _walk(dir_fd, rest or ["*"], prefix)
        for name in _names(dir_fd, "*"):
            sub = _open(dir_fd, name, DIRECTORY)
            if sub is None:
                continue
            try:
                yield from _walk(sub, parts, prefix + name + "/")
            finally:
                _close(sub)
        return
    for name in _names(dir_fd, head):
        if not rest:
            yield prefix + name, dir_fd, name
            continue
        sub = _open(dir_fd, name, DIRECTORY)
        if sub is None:
            continue
        try:
            yield from _walk(sub, rest, prefix + name + "/")
        finally:
            _close(sub)


def _read(fd, size):
    chunks = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send_files(root, patterns, budget, emit):
    """Sends the regular files under `root` that `patterns` match, in pattern order (each
    pattern's matches sorted), each once, their content while `budget` bytes last."""
    if not patterns:
        return
    root_fd = _open(None, root, DIRECTORY)
    if root_fd is None:
        return
    seen = set()
    try:
        for pattern in patterns:
            parts = [part for part in str(pattern).split("/") if part and part != "."]
            if not parts or ".." in parts:
                continue
            for path, dir_fd, name in _walk(root_fd, parts, ""):
                if path in seen or len(seen) >= MAX_FILES:
                    continue
                fd = _open(dir_fd, name, FILE)
                if fd is None:
                    continue
                try:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode):
                        continue
                    seen.add(path)
                    content = None
                    if info.st_size <= budget:
                        data = _read(fd, info.st_size)
                        budget -= len(data)
                        content = base64.b64encode(data).decode("ascii")
                finally:
                    os.close(fd)
                emit({"type": "file", "path": path, "size": info.st_size, "content": content})
    finally:
        _close(root_fd)


def read_file(root, path, limit):
    """One file under `root` (a session's `GET /sessions/{id}/files/{path}`), opened as the
    files a run sends back are: {"size", "content"} (base64), or {"error"}: "not_found" (no
    such regular file inside `root`, a symbolic link on the way included), "too_large" (over
    `limit` bytes: {"size"} too)."""
    parts = [part for part in path.split("/") if part and part != "."]
    if not parts or ".." in parts or "\0" in path:
        return {"error": "not_found"}
    dir_fd = _open(None, root, DIRECTORY)
    opened = []
    try:
        for part in parts[:-1]:
            if dir_fd is None:
                return {"error": "not_found"}
            opened.append(dir_fd)
            dir_fd = _open(dir_fd, part, DIRECTORY)
        if dir_fd is None:
            return {"error": "not_found"}
        opened.append(dir_fd)
        fd = _open(dir_fd, parts[-1], FILE)
        if fd is None:
            return {"error": "not_found"}
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return {"error": "not_found"}
            if info.st_size > limit:
                return {"error": "too_large", "size": info.st_size}
            data = _read(fd, info.st_size)
        finally:
            os.close(fd)
        return {"size": len(data), "content": base64.b64encode(data).decode("ascii")}
    finally:
        for fd in opened:
            _close(fd)
