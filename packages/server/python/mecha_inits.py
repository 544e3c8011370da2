"""pid 1 of each run's pid namespace: a clone of the zygote that runs no Python at all (see
Inits). It is written for glibc's ucontext_t on x86-64 and AArch64: `check_platform()` refuses
anywhere else, and the zygote then does not start (the server says why and starts each run with
bubblewrap instead).
"""

import ctypes
import mmap
import os
import signal
import _signal

from mecha_linux import CLONE_FILES, CLONE_VM, check, libc

ALL_SIGNALS = _signal.valid_signals()
# Where glibc's ucontext_t has been checked to keep uc_link and uc_stack (see Inits).
SUPPORTED_MACHINES = ("x86_64", "aarch64")


def check_platform():
    """Raises OSError, saying why, where the init clone was not written for this system."""
    machine = os.uname().machine
    if machine not in SUPPORTED_MACHINES:
        raise OSError("the zygote's init clone is written for %s, not %s"
                      % (" and ".join(SUPPORTED_MACHINES), machine))
    try:
        version = ctypes.CDLL(None).gnu_get_libc_version
    except AttributeError:
        raise OSError("the zygote's init clone is written for glibc, and this libc is not glibc") from None
    version.restype = ctypes.c_char_p
    major, minor = (int(part) for part in version().decode().split(".")[:2])
    if (major, minor) < (2, 17):
        raise OSError("the zygote's init clone needs glibc 2.17 or later, not %d.%d" % (major, minor))


class Inits:
    """pid 1 of each run's pid namespace: a clone of the zygote that runs no Python at all.

    The init shares the zygote's memory and descriptor table (so it copies no page and holds no
    descriptor of its own) and runs three libc calls chained with ucontext, each on a stack of
    its own: setsid() (a session, and so an autogroup, of its own), signal(SIGCHLD, SIG_IGN)
    (the kernel reaps every orphan handed to it) and pause(), with every signal blocked, for
    good. It stays in the zygote's user namespace, where the run has no capability, and its
    memory is the zygote's, which is not dumpable: the program can neither trace it nor open
    what /proc guards with ptrace rights (/proc/1/mem, environ, root, fd/N, ns/*). As the init
    of its pid namespace it receives no signal sent from inside it. The zygote ends a run by
    killing its init: the kernel then kills everything else in the run's pid namespace.
    """

    CONTEXT = 8192  # more than any ucontext_t
    STACK = 8192
    TOP = 64  # what makecontext writes at the top of a stack (the trampoline, uc_link)
    # Offsets in ucontext_t (glibc, 64-bit): uc_link, then uc_stack's ss_sp, ss_flags, ss_size.
    LINK, STACK_SP, STACK_SIZE = 8, 16, 32

    def __init__(self):
        self.free = []
        self.live = {}  # pid -> its memory, kept until it is reaped
        self.steps = [(ctypes.cast(libc.setsid, ctypes.c_void_p), 0, 0, 0),
                      (ctypes.cast(libc.signal, ctypes.c_void_p), 2, signal.SIGCHLD, 1),
                      (ctypes.cast(libc.pause, ctypes.c_void_p), 0, 0, 0)]
        self.start_fn = ctypes.cast(libc.setcontext, ctypes.c_void_p)

    def start(self):
        """Clones an init into the pid namespace for the zygote's next children; its pid."""
        if self.free:
            block = self.free.pop()
            # The tops of its stacks back as made: returning from a step leaves there the return
            # address of the call to the next context, where makecontext put its trampoline's.
            for offset, top in block.made:
                block.memory[offset:offset + len(top)] = top
        else:
            block = self.make()
        # Started with every signal blocked, until its first context sets the same mask.
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, ALL_SIGNALS)
        try:
            pid = libc.clone(self.start_fn, block.top, CLONE_VM | CLONE_FILES | _signal.SIGCHLD,
                             block.first)
            if pid < 0:
                code = ctypes.get_errno()
                self.free.append(block)
                raise OSError(code, "clone: %s" % os.strerror(code))
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        self.live[pid] = block
        return pid

    def make(self):
        """A block of contexts and stacks, made once and kept as made for the inits after."""
        count = len(self.steps)
        # Pages of their own that no run inherits: forking copies and tears down less.
        memory = mmap.mmap(-1, count * self.CONTEXT + (count + 1) * self.STACK)
        memory.madvise(mmap.MADV_DONTFORK)
        base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
        contexts = [base + i * self.CONTEXT for i in range(count)]
        stacks = [base + count * self.CONTEXT + i * self.STACK for i in range(count + 1)]
        # The contexts keep the signal mask they are made with: every signal blocked.
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, ALL_SIGNALS)
        try:
            for i, (function, argc, first, second) in enumerate(self.steps):
                context = contexts[i]
                check(libc.getcontext(context), "getcontext")
                last = i == count - 1
                # The last step links to itself: were pause() ever to return, it pauses again.
                ctypes.c_void_p.from_address(context + self.LINK).value = contexts[i if last else i + 1]
                ctypes.c_void_p.from_address(context + self.STACK_SP).value = stacks[i]
                ctypes.c_size_t.from_address(context + self.STACK_SIZE).value = self.STACK
                libc.makecontext(context, function, argc, first, second)
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        offsets = [stack - base + self.STACK - self.TOP for stack in stacks[:count]]
        made = [(offset, memory[offset:offset + self.TOP]) for offset in offsets]
        return InitBlock(memory, made, contexts[0], stacks[count] + self.STACK)

    def reaped(self, pid):
        block = self.live.pop(pid, None)
        if block is None:
            return
        if len(self.free) < 64:
            self.free.append(block)
        else:
            block.memory.close()


class InitBlock:
    """An init's memory (contexts and stacks), its stacks' tops as made, where it starts."""

    __slots__ = ("memory", "made", "first", "top")

    def __init__(self, memory, made, first, top):
        self.memory = memory
        self.made = made
        self.first = first
        self.top = top
