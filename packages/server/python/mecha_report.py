"""The spawn path's reporter (see `report`), loaded by bootstrap.py into a namespace of its own
in the process that starts a run, which then runs none of the program."""

import os


def report(status_fd, job, job_fd, events_fd, send_files):
    """Forks the program's first process and, in this one, reports how the run ended.

    This process runs none of the program. It gives the program standard output and error of
    its own, relayed to this process's, and so knows when every process of the run has closed
    them; it waits for the program (wait4: its status, CPU time and peak memory, from the
    kernel) and, once both have happened, the run has ended (as under `python3 main.py` with its
    output captured): it sends the files the job asks back (see mecha_files.py: the program's
    process is gone, finalization and all, as the zygote path's has then), writes
    `exit <status> <cpu seconds> <maxrss KiB>` on `status_fd`, which
    the program never has, and exits, which ends whatever is left of the run. It reaps every
    orphan meanwhile, and is not dumpable: the program, under the same uid, cannot open its
    descriptors through /proc. Returns in the child only.

    `job_fd` and `events_fd` are the job's and the event channel's descriptors;
    `send_files(patterns, limit)` sends the files the job asks back on the event channel.
    """
    import select
    import signal

    relays = [os.pipe(), os.pipe()]
    pid = os.fork()
    if pid == 0:
        os.close(status_fd)
        for target, (read_end, write_end) in zip((1, 2), relays):
            os.close(read_end)
            os.dup2(write_end, target)
            os.close(write_end)
        return
    patterns = job.get("returnFiles") or []
    # The event channel is the program's while it runs; the files go on it after. A session's
    # control channel is the program's alone.
    if job.get("session"):
        os.close(job_fd)
    for fd in (0,) if patterns else (0, events_fd):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    targets = {}
    for target, (read_end, write_end) in zip((1, 2), relays):
        os.close(write_end)
        targets[read_end] = target
    ended = None

    def relay(fd):
        """Passes on what `fd` has; False at its end."""
        data = os.read(fd, 65536)
        if not data:
            os.close(fd)
            del targets[fd]
            return False
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(targets[fd], view):]
        except OSError:
            pass
        return True

    # A session ends with its interpreter: a process it left holding stdout does not hold it.
    session = bool(job.get("session"))
    while (targets and not (session and ended)) or ended is None:
        try:
            readable, _, _ = select.select(list(targets) + [wake_r], [], [])
        except InterruptedError:
            readable = []
        for fd in readable:
            if fd == wake_r:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                continue
            relay(fd)
        while True:
            try:
                child, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if child == 0:
                break
            if child == pid:
                ended = status, usage
    for fd in list(targets):
        # (A session's interpreter has ended:) what it wrote before goes on, a bounded amount.
        os.set_blocking(fd, False)
        for _ in range(16):
            try:
                if not relay(fd):
                    break
            except OSError:
                break
    status, usage = ended
    if patterns:
        try:
            send_files(patterns, job.get("fileBytes") or 0)
        except Exception:  # noqa: BLE001 - what could not be read is not sent
            pass
    line = "exit %d %r %d\n" % (status, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
    try:
        os.write(status_fd, line.encode())
    except OSError:
        pass
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)
