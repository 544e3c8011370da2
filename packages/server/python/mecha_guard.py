"""What a run is told when it reaches for what a sandbox does not have, and matplotlib's inline
backend put in place when the program imports matplotlib. One audit hook (PEP 578) per run,
installed by the bootstrap in the program's first process (and so in every process it forks).

In a sandbox (network "none" or "unix") there is no network and no pip, and a program that tries
gets an error that says so, of the class and errno it gets anyway, so that a program handling
the failure behaves as it would:
- looking up a name that is not local (socket.getaddrinfo, gethostbyname: what urllib, http.client
  and requests do first) raises socket.gaierror EAI_NONAME, "this sandbox has no network: …";
- with the seccomp filter ("unix"), making a socket other than AF_UNIX raises PermissionError
  EPERM, as the filter would, "this sandbox has no network: …";
- `import pip` raises ModuleNotFoundError, and starting pip (`pip install`, `python -m pip`,
  through subprocess, os.system, os.exec*, os.posix_spawn) raises PermissionError: packages
  are the operator's to install (see the server's README).

Loaded by the bootstrap into a namespace of its own (never sys.modules).
"""

import errno
import re
import sys

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
PIP_COMMAND = re.compile(r"(?:^|[\s/;&|(])(?:pip(?:3(?:\.\d+)?)?|-m\s+pip)\s+(?:\S+\s+)*?install\b")
NO_PIP = ("pip cannot install packages in this sandbox: it has no network. The packages a "
          "program can import are listed by GET /runtimes; the server's operator adds others "
          "(Debian packages, or a virtual environment passed with --python)")


def _numeric(host):
    import _socket

    for parse in (_socket.inet_aton, lambda text: _socket.inet_pton(_socket.AF_INET6, text)):
        try:
            parse(host.split("%", 1)[0])
            return True
        except (OSError, ValueError):
            pass
    return False


def _lookup(args):
    host = args[0] if args else None
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    if not isinstance(host, str) or not host or host.lower().rstrip(".") in LOCAL_NAMES:
        return
    if _numeric(host):
        return
    import _socket

    raise _socket.gaierror(_socket.EAI_NONAME,
                           "this sandbox has no network: cannot look up %r" % host)


def _socket_made(args):
    import _socket

    family = args[1] if len(args) > 1 else -1
    if isinstance(family, int) and family > 0 and family != _socket.AF_UNIX:
        raise PermissionError(
            errno.EPERM,
            "this sandbox has no network: only AF_UNIX sockets can be made here (family %d)"
            % family)


def _words(value):
    """A command (a string, or a list of arguments) as one string to search."""
    import os

    if isinstance(value, (str, bytes, os.PathLike)):
        value = [value]
    try:
        return " ".join(os.fsdecode(part) for part in value)
    except (TypeError, ValueError):
        return ""


def _command(position):
    def check(args):
        if len(args) > position and PIP_COMMAND.search(_words(args[position])):
            raise PermissionError(errno.EPERM, NO_PIP)
    return check


class Guard:
    def __init__(self, network, matplotlib):
        self.matplotlib = matplotlib  # called on imports until it returns True
        self.network = None
        self.configure(network)

    def configure(self, network):
        """The handlers a run with `network` needs (a guard installed before its job, for the
        network its zygote's runs have, is given its job's here)."""
        if network == self.network:
            return
        self.network = network
        self.handlers = {}
        if network in ("none", "unix"):
            self.handlers.update({
                "socket.getaddrinfo": _lookup,
                "socket.gethostbyname": _lookup,
                "socket.gethostbyname_ex": _lookup,
                "subprocess.Popen": _command(1),
                "os.system": _command(0),
                "os.exec": _command(1),
                "os.posix_spawn": _command(1),
                "os.spawn": _command(2),
            })
            self.pip = True
        else:
            self.pip = False
        if network == "unix":
            self.handlers["socket.__new__"] = _socket_made
        if self.pip or self.matplotlib is not None:
            self.handlers["import"] = self.imported

    def imported(self, args):
        name = args[0] if args else ""
        if self.pip and isinstance(name, str) and (name == "pip" or name.startswith("pip.")):
            raise ModuleNotFoundError("No module named 'pip': " + NO_PIP, name="pip")
        callback = self.matplotlib
        if callback is not None and "matplotlib" in sys.modules:
            # What the callback imports comes here too: not into the callback again.
            self.matplotlib = None
            try:
                done = callback(sys.modules["matplotlib"])
            except Exception:  # noqa: BLE001 - matplotlib goes on with its own backend
                done = True
            if not done:
                self.matplotlib = callback
            if done:
                self.matplotlib = None
                if not self.pip:
                    del self.handlers["import"]

    def __call__(self, event, args):
        handler = self.handlers.get(event)
        if handler is not None:
            handler(args)


def install(network, matplotlib=None):
    """Installs the run's hook, and returns it (None where it has nothing to do, and is not
    installed); `matplotlib(module)` is called on imports once matplotlib is (being) imported,
    until it returns True."""
    guard = Guard(network, matplotlib)
    if not guard.handlers:
        return None
    sys.addaudithook(guard)
    return guard
