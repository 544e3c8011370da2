"""Linux system calls the zygote makes through the interpreter's own libc (ctypes), and the
steps every run takes with them: mounts, files written in /proc, and dropping every privilege.
"""

import ctypes
import os

CLONE_VM = 0x00000100
CLONE_FILES = 0x00000400
CLONE_PARENT = 0x00008000
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
SECCOMP_MODE_FILTER = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522

# The interpreter's own libc (ctypes.util.find_library would import random, seeded here once).
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.clone.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
libc.getcontext.argtypes = [ctypes.c_void_p]
libc.makecontext.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_long]

# Read once: the same for every run (the kernel's, and what a fresh /proc of a run shows).
CAP_LAST = int(open("/proc/sys/kernel/cap_last_cap").read())


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, "%s: %s" % (what, os.strerror(code)))


def mount(source, target, fstype, flags, data=None):
    if libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(), flags,
                  data and data.encode()) != 0:
        check(-1, "mount %s" % target)


def write_file(path, text, dir_fd=None):
    fd = os.open(path, os.O_WRONLY, dir_fd=dir_fd)
    try:
        try:
            os.write(fd, text.encode())
        except OSError as error:
            raise OSError(error.errno, "%s: %s" % (path, error.strerror)) from None
    finally:
        os.close(fd)


# capset(2)'s arguments for no capability at all, made once: each run only passes them on.
CAP_HEADER = CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
CAP_NONE = (CapData * 2)()


def drop_bounding_set(caps=None):
    """No capability can ever be gained again, even by executing a file that grants it (this
    takes CAP_SETPCAP: root of the process's user namespace). `caps`: those still in the set,
    when only they are (see keep_capabilities); else every one."""
    for cap in range(CAP_LAST + 1) if caps is None else caps:
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            check(-1, "capbset drop")


def keep_capabilities(caps):
    """This process keeps only `caps` (numbers below 32): in its bounding, permitted and
    effective sets (a root process that needs no more)."""
    drop_bounding_set([cap for cap in range(CAP_LAST + 1) if cap not in caps])
    mask = sum(1 << cap for cap in caps)
    data = (CapData * 2)()
    data[0].effective = data[0].permitted = mask
    check(libc.capset(ctypes.addressof(CAP_HEADER), ctypes.addressof(data)), "capset")


def drop_privileges(seccomp_prog, bounding=True):
    """In U: no capabilities at all, no way to gain any, and the seccomp filter (its address).
    `bounding`: drop the bounding set here too (else the caller has, or cannot)."""
    prctl = libc.prctl
    if bounding:
        drop_bounding_set()
    check(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient clear")
    check(libc.capset(ctypes.addressof(CAP_HEADER), ctypes.addressof(CAP_NONE)), "capset")
    check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    if seccomp_prog is not None:
        check(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, seccomp_prog, 0, 0), "seccomp")


def read_seccomp(fd):
    """The seccomp filter (BPF) read from `fd` to its end, which is then closed, as prctl takes
    it (its buffer kept with it)."""
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    data = b"".join(chunks)
    if not data or len(data) % 8:
        raise ValueError("the seccomp filter is not BPF")
    buffer = ctypes.create_string_buffer(data, len(data))
    prog = SockFprog(len(data) // 8, ctypes.addressof(buffer))
    prog.buffer = buffer
    return prog
