/**
 * The run's audit hook (python/mecha_guard.py) as a zygote's run makes it: before its job, for
 * the network of the zygote's runs, reconfigured should the job's network differ (a hook cannot
 * be removed). Checked through the distribution's Python, calling the hook as the interpreter
 * would.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const PYTHON = "/usr/bin/python3";
const PYTHON_DIR = fileURLToPath(new URL("../python", import.meta.url));

/** What the hook does to each event: made for the first network, then set for each next one. */
function refusals(networks: string[]): Record<string, string | null>[] {
  const code = `
import json, sys
from mecha_guard import Guard, install
EVENTS = [("socket.getaddrinfo", ("pypi.org", 443)), ("socket.__new__", (None, 2, 1, 0)),
          ("import", ("pip",)), ("subprocess.Popen", ("pip", ["pip", "install", "x"]))]
def outcomes(guard):
    seen = {}
    for event, args in EVENTS:
        try:
            guard(event, args)
            seen[event] = None
        except Exception as error:
            seen[event] = type(error).__name__
    return seen
networks = json.loads(sys.argv[1])
guard = Guard(networks[0], None)
out = [outcomes(guard)]
for network in networks[1:]:
    guard.configure(network)
    out.append(outcomes(guard))
out.append({"installed for host": install("host") is not None})
print(json.dumps(out))
`;
  const result = spawnSync(PYTHON, ["-c", code, JSON.stringify(networks)], {
    env: { PATH: "/usr/bin:/bin", PYTHONPATH: PYTHON_DIR, PYTHONDONTWRITEBYTECODE: "1" },
    encoding: "utf8",
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

const REFUSED_UNIX = {
  "socket.getaddrinfo": "gaierror",
  "socket.__new__": "PermissionError",
  import: "ModuleNotFoundError",
  "subprocess.Popen": "PermissionError",
};
const REFUSED_NONE = { ...REFUSED_UNIX, "socket.__new__": null };
const REFUSED_HOST = {
  "socket.getaddrinfo": null,
  "socket.__new__": null,
  import: null,
  "subprocess.Popen": null,
};

describe.skipIf(!existsSync(PYTHON))("the run's audit hook", () => {
  it("refuses what the network it is made for has not, and follows a new network", () => {
    const [unix, host, none, again, installed] = refusals(["unix", "host", "none", "unix"]);
    expect(unix).toEqual(REFUSED_UNIX);
    expect(host).toEqual(REFUSED_HOST);
    expect(none).toEqual(REFUSED_NONE);
    expect(again).toEqual(REFUSED_UNIX);
    // With the host's network and no matplotlib callback it has nothing to do: none installed.
    expect(installed).toEqual({ "installed for host": false });
  });
});
