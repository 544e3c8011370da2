// The spawner the macOS simulation's servers are made with (plainZygoteDarwin.test.ts and
// serverWithASleeper.mjs): `python3 -u zygote.py ...` becomes
// `python3 -u simulated_darwin.py zygote.py ...`; anything else is spawned as asked.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const SIMULATED_DARWIN = fileURLToPath(new URL("simulated_darwin.py", import.meta.url));

export function spawnUnderSimulatedDarwin(command, args, options) {
  const at = args.findIndex((arg) => arg.endsWith("/zygote.py"));
  return spawn(
    command,
    at < 0 ? args : [...args.slice(0, at), SIMULATED_DARWIN, ...args.slice(at)],
    options,
  );
}
