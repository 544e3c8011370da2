/**
 * Hostile Python programs. Each takes the markers that name its processes on the host, so a
 * test can look for survivors in /proc/<pid>/cmdline after the run.
 */
import { withMarkedArgv } from "./helpers";

/** Starts a detached `sleep <duration>` that would outlive the run if nothing killed it. */
export function sleeper(duration: string): string {
  return [
    "import subprocess as _sp",
    `_sp.Popen(["/bin/sleep", ${JSON.stringify(duration)}], start_new_session=True,`,
    "          stdin=_sp.DEVNULL, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)",
  ].join("\n");
}

export function forkBomb(mark: string): string {
  return withMarkedArgv(
    mark,
    [
      "import time",
      "print('bombing', flush=True)",
      "while True:",
      "    try:",
      "        os.fork()",
      "    except OSError:",
      "        time.sleep(0.005)",
    ].join("\n"),
  );
}

/** Classic shell fork bombs under /bin/sh and bash, the marker as their `$0`. */
export function shellForkBomb(mark: string): string {
  return [
    "import subprocess, time",
    `MARK = ${JSON.stringify(mark)}`,
    "for shell, bomb in (('/bin/sh', 'b(){ b|b& };b'), ('/bin/sh', ':(){ :|:& };:'),",
    "                    ('/bin/bash', ':(){ :|:& };:')):",
    "    try:",
    "        subprocess.Popen([shell, '-c', bomb, MARK], stdin=subprocess.DEVNULL,",
    "                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
    "    except OSError as error:",
    "        print('could not start', shell, error, flush=True)",
    "print('bombing', flush=True)",
    "while True:",
    "    time.sleep(1)",
  ].join("\n");
}

export function bigAllocation(sleep: string): string {
  return [sleeper(sleep), "data = bytearray(4 << 30)", "print('allocated', len(data))"].join("\n");
}

export function gradualAllocation(sleep: string): string {
  return [
    sleeper(sleep),
    "hoard = []",
    "while True:",
    "    hoard.append(b'\\x01' * (1 << 20))",
  ].join("\n");
}

/** Children each stay under the address-space rlimit; only a cgroup caps them together. */
export function forkedAllocation(mark: string): string {
  return withMarkedArgv(
    mark,
    [
      "import time",
      "children = []",
      "for _ in range(8):",
      "    pid = os.fork()",
      "    if pid == 0:",
      "        hoard = []",
      "        try:",
      "            for _ in range(6):",
      "                hoard.append(b'\\x01' * (16 << 20))",
      "        except MemoryError:",
      "            pass",
      "        time.sleep(1)",
      "        os._exit(0)",
      "    children.append(pid)",
      "for pid in children:",
      "    print('child', pid, os.waitpid(pid, 0)[1], flush=True)",
    ].join("\n"),
  );
}

export function outputFlood(sleep: string): string {
  return [sleeper(sleep), "while True:", "    print('x' * 10000)"].join("\n");
}

/** A forked child floods stderr while the parent floods stdout. */
export function mixedOutputFlood(mark: string): string {
  return withMarkedArgv(
    mark,
    [
      "import sys",
      "if os.fork() == 0:",
      "    while True:",
      "        sys.stderr.write('e' * 10000 + '\\n')",
      "while True:",
      "    print('o' * 10000)",
    ].join("\n"),
  );
}

/** Writes one huge file, then many smaller ones, in the working directory and in /tmp. */
export function diskFill(mark: string, sleep: string): string {
  return [
    "import errno, os, time",
    sleeper(sleep),
    `MARK = ${JSON.stringify(mark)}`,
    "chunk = b'\\x00' * (1 << 20)",
    "def write_until_error(path, limit):",
    "    written = 0",
    "    with open(path, 'wb', buffering=0) as handle:",
    "        try:",
    "            while written < limit:",
    "                written += handle.write(chunk)",
    "        except OSError as error:",
    "            return written, errno.errorcode.get(error.errno, str(error.errno))",
    "    return written, None",
    "for where in (os.getcwd(), '/tmp'):",
    "    size, error = write_until_error(os.path.join(where, MARK + '-huge.bin'), 8 << 30)",
    "    print('HUGE', where, size, error, flush=True)",
    "    total, index, error = 0, 0, None",
    "    while error is None and total < (8 << 30):",
    "        size, error = write_until_error(os.path.join(where, '%s-%d.bin' % (MARK, index)), 8 << 20)",
    "        total += size",
    "        index += 1",
    "    print('FILL', where, total, error, flush=True)",
    "time.sleep(0.5)",
  ].join("\n");
}

/** fork, setsid, fork, then `sleep <duration>` with SIGTERM and SIGHUP ignored. */
export function doubleForkDaemon(sleep: string, closeFds: boolean): string {
  return [
    "import os, signal, time",
    "pid = os.fork()",
    "if pid == 0:",
    "    os.setsid()",
    "    if os.fork() == 0:",
    "        signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    "        signal.signal(signal.SIGHUP, signal.SIG_IGN)",
    closeFds ? "        os.closerange(0, 1024)" : "        pass",
    `        os.execv("/bin/sleep", ["sleep", ${JSON.stringify(sleep)}])`,
    "    os._exit(0)",
    "os.waitpid(pid, 0)",
    "time.sleep(0.2)",
    "print('daemonized', flush=True)",
  ].join("\n");
}

/**
 * A sibling rather than a child: clone(CLONE_PARENT) makes a process whose parent is the
 * program's parent (the zygote, the sandbox's reporter or the server), which closes its
 * descriptors and runs `sleep <duration>`.
 */
export function siblingDaemon(sleep: string): string {
  return [
    "import ctypes, os, signal, time",
    "libc = ctypes.CDLL(None, use_errno=True)",
    "SYS_clone = {'x86_64': 56, 'aarch64': 220}[os.uname().machine]",
    "CLONE_PARENT = 0x8000",
    "pid = libc.syscall(SYS_clone, CLONE_PARENT | signal.SIGCHLD, 0, 0, 0, 0)",
    "if pid == 0:",
    "    signal.signal(signal.SIGTERM, signal.SIG_IGN)",
    "    signal.signal(signal.SIGHUP, signal.SIG_IGN)",
    "    os.closerange(0, 1024)",
    `    os.execv("/bin/sleep", ["sleep", ${JSON.stringify(sleep)}])`,
    "if pid < 0:",
    "    print('refused', os.strerror(ctypes.get_errno()), flush=True)",
    "time.sleep(0.2)",
    "print('daemonized', flush=True)",
  ].join("\n");
}

/** Every process ignores SIGTERM, SIGHUP and SIGINT; some children leave the process group. */
export function termIgnorers(mark: string, sleep: string): string {
  return withMarkedArgv(
    mark,
    [
      "import signal, time",
      "for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):",
      "    signal.signal(sig, signal.SIG_IGN)",
      "for i in range(6):",
      "    if os.fork() == 0:",
      "        if i % 2:",
      "            os.setsid()",
      "        if i < 3:",
      `            os.execv("/bin/sleep", ["sleep", ${JSON.stringify(sleep)}])`,
      "        while True:",
      "            time.sleep(1)",
      "print('ignoring', flush=True)",
      "while True:",
      "    time.sleep(1)",
    ].join("\n"),
  );
}

export function cpuSpinner(mark: string): string {
  return withMarkedArgv(
    mark,
    ["if os.fork() == 0:", "    pass", "while True:", "    pass"].join("\n"),
  );
}

/** Reports every way out to the network it tries; "OK" lines would be escapes. */
export function networkProbe(
  tcpPort: number,
  udpPort: number,
  abstractName: string,
  unixPath: string,
): string {
  return [
    "import socket, urllib.request",
    "def attempt(name, action):",
    "    try:",
    "        print('OK', name, repr(action()), flush=True)",
    "    except BaseException as error:",
    "        print('BLOCKED', name, type(error).__name__, error, flush=True)",
    "def tcp(host):",
    "    def go():",
    `        s = socket.create_connection((host, ${tcpPort}), timeout=2)`,
    "        s.sendall(b'hello from the sandbox')",
    "        return s.getpeername()",
    "    return go",
    "def udp():",
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    `    return s.sendto(b'hello from the sandbox', ('127.0.0.1', ${udpPort}))`,
    "def udp_dns():",
    "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    "    return s.sendto(b'\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01', ('8.8.8.8', 53))",
    "def unix(address):",
    "    def go():",
    "        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
    "        s.connect(address)",
    "        s.sendall(b'hello from the sandbox')",
    "        return 'connected'",
    "    return go",
    "attempt('tcp-127.0.0.1', tcp('127.0.0.1'))",
    "attempt('tcp-localhost', tcp('localhost'))",
    "attempt('tcp-::1', tcp('::1'))",
    "attempt('udp-127.0.0.1', udp)",
    "attempt('udp-8.8.8.8:53', udp_dns)",
    "attempt('dns-example.com', lambda: socket.getaddrinfo('example.com', 80))",
    "attempt('dns-gethostbyname', lambda: socket.gethostbyname('one.one.one.one'))",
    `attempt('http', lambda: urllib.request.urlopen('http://127.0.0.1:${tcpPort}/', timeout=2).status)`,
    "attempt('raw', lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))",
    "attempt('netlink', lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))",
    "attempt('packet', lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))",
    `attempt('unix-abstract', unix(${JSON.stringify(`\0${abstractName}`)}))`,
    `attempt('unix-path', unix(${JSON.stringify(unixPath)}))`,
    "print('DONE', flush=True)",
  ].join("\n");
}
