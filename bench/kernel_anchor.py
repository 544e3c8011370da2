"""The sessions benchmark's anchor: a local Jupyter kernel (Debian's python3-ipykernel), no sandbox.

Measures, with jupyter_client's KernelManager and BlockingKernelClient:

- start: from `start_kernel()` until `wait_for_ready()` returns (the kernel answered a
  kernel_info request), for each of `--starts` kernels started one after another;
- cell: `execute("x + 1")` after a setup cell `x = 1`, from sending the request until both its
  `execute_reply` (shell) and the kernel's `status: idle` for it (iopub) have arrived, `--cells`
  times after `--warmup` unmeasured cells, on one kernel. Each answer is checked: the reply's
  status is "ok" and the execute_result's text/plain is "2".

Prints one JSON object on stdout: {"startMs": [...], "cellMs": [...], "cellCpu": {"kernelMs",
"clientMs"} (CPU per measured cell of the kernel process and of this client), "versions": {...}}.

    /usr/bin/python3 bench/kernel_anchor.py --starts 2 --cells 200 --warmup 20
"""

import argparse
import json
import os
import sys
import time

import ipykernel
import jupyter_client
from jupyter_client.manager import KernelManager

TIMEOUT_S = 30


def start_kernel():
    """A started kernel and its ready client, and the ms from start to ready."""
    t0 = time.perf_counter()
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=TIMEOUT_S)
    return manager, client, (time.perf_counter() - t0) * 1000


def stop_kernel(manager, client):
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def cpu_ms(pid):
    """CPU time (user + system) of a process so far, in ms, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def cell(client, code):
    """Runs `code`; the ms until its reply and its idle status, and its text/plain result."""
    t0 = time.perf_counter()
    msg_id = client.execute(code)
    reply = None
    idle = False
    result = None
    while reply is None:
        message = client.get_shell_msg(timeout=TIMEOUT_S)
        if message["parent_header"].get("msg_id") == msg_id:
            reply = message
    while not idle:
        message = client.get_iopub_msg(timeout=TIMEOUT_S)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        kind = message["msg_type"]
        if kind == "execute_result":
            result = message["content"]["data"].get("text/plain")
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            idle = True
    elapsed = (time.perf_counter() - t0) * 1000
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed: {reply['content']}")
    return elapsed, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=2)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()

    start_ms = []
    cell_ms = []
    cell_cpu = None
    for index in range(max(1, args.starts)):
        manager, client, ms = start_kernel()
        start_ms.append(ms)
        try:
            if index == 0:
                cell(client, "x = 1")
                for _ in range(args.warmup):
                    cell(client, "x + 1")
                kernel0 = cpu_ms(manager.provisioner.pid)
                client0 = time.process_time()
                for _ in range(args.cells):
                    ms, result = cell(client, "x + 1")
                    if result != "2":
                        raise RuntimeError(f"x + 1 gave {result!r}")
                    cell_ms.append(ms)
                cell_cpu = {
                    "kernelMs": (cpu_ms(manager.provisioner.pid) - kernel0) / args.cells,
                    "clientMs": (time.process_time() - client0) * 1000 / args.cells,
                }
        finally:
            stop_kernel(manager, client)
    json.dump(
        {
            "startMs": start_ms,
            "cellMs": cell_ms,
            "cellCpu": cell_cpu,
            "versions": {
                "python": sys.version.split()[0],
                "ipykernel": ipykernel.__version__,
                "jupyter_client": jupyter_client.__version__,
            },
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
