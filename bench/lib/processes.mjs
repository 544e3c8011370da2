// Starts benchmark targets on free ports and makes sure nothing they started outlives the run.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createAccountingGroup, removeAllGroups } from "./cgroup.mjs";
import { descendants, processInfo, stillAlive } from "./proc.mjs";

const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/;
const started = new Set();

/** A short tail of a process's output, for error messages. */
class Tail {
  constructor(limit = 4000) {
    this.text = "";
    this.limit = limit;
  }
  push(chunk) {
    this.text = (this.text + chunk).slice(-this.limit);
  }
}

/**
 * Starts a server that prints `listening on http://127.0.0.1:PORT` once ready (on stdout or
 * stderr), inside a CPU accounting cgroup of its own where one can be made. Resolves with
 * { child, port, pid, group, output }; rejects with its output if it exits or stays silent
 * for `timeoutMs`. A server that says it is ready otherwise gives `ready` (a pattern) and the
 * `port` it was told to use.
 */
export function startServer(
  name,
  command,
  args,
  { env, cwd, timeoutMs = 30_000, ready = LISTENING, port = null } = {},
) {
  const group = createAccountingGroup(name);
  const launch = group ? group.wrap(command, args) : { command, args };
  const child = spawn(launch.command, launch.args, {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so stopping it reaches whatever it left in that group.
    detached: true,
  });
  const output = new Tail();
  const handle = { name, child, pid: child.pid, port: null, group, output, known: new Map() };
  started.add(handle);
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      finish(new Error(`${name} did not report a port within ${timeoutMs} ms:\n${output.text}`));
    }, timeoutMs);
    const finish = (error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) {
        void stopServer(handle).finally(() => reject(error));
      } else {
        resolve(handle);
      }
    };
    const onData = (chunk) => {
      output.push(chunk.toString());
      const match = ready.exec(output.text);
      if (match && handle.port === null) {
        handle.port = match[1] ? Number(match[1]) : port;
        finish(null);
      }
    };
    // Keep draining both pipes for the server's whole life, so a chatty server never blocks.
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (error) => finish(new Error(`${name} could not start: ${error.message}`)));
    child.once("exit", (code, signal) => {
      handle.exited = true;
      finish(new Error(`${name} exited (${signal ?? code}) before listening:\n${output.text}`));
    });
  });
}

/** Remembers the server's current descendants so they can be reaped after it stops. */
export function noteDescendants(handle) {
  if (!handle.pid) return;
  for (const info of descendants(handle.pid)) handle.known.set(info.pid, info);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** True while any process is left in the group or in a cgroup nested under it. */
function existsGroupProcesses(path) {
  try {
    if (readFileSync(`${path}/cgroup.procs`, "utf8").trim().length > 0) return true;
    return readdirSync(path, { withFileTypes: true }).some(
      (entry) => entry.isDirectory() && existsGroupProcesses(`${path}/${entry.name}`),
    );
  } catch {
    return false;
  }
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a server: SIGTERM, then SIGKILL to its process group after 5 s, then SIGKILL to every
 * descendant it was seen with that is still alive. Returns the number of leftovers killed.
 */
export async function stopServer(handle) {
  if (!handle || handle.stopped) return 0;
  handle.stopped = true;
  const { child } = handle;
  noteDescendants(handle);
  const self = handle.pid ? processInfo(handle.pid) : null;
  if (self) {
    kill(handle.pid, "SIGTERM");
    if (!(await waitExit(child, 5000))) {
      kill(-handle.pid, "SIGKILL");
      kill(handle.pid, "SIGKILL");
      await waitExit(child, 2000);
    }
  }
  // The group may hold helpers that outlived the server.
  if (handle.pid) kill(-handle.pid, "SIGKILL");
  // Processes the server killed on its way out may take a moment to be gone.
  for (let i = 0; i < 20 && [...handle.known.values()].some(stillAlive); i++) await sleep(50);
  let leftovers = 0;
  for (const info of handle.known.values()) {
    if (stillAlive(info)) {
      leftovers++;
      kill(info.pid, "SIGKILL");
    }
  }
  if (handle.group) {
    // Processes killed just now may take a moment to leave the group.
    for (let i = 0; i < 60 && existsGroupProcesses(handle.group.path); i++) await sleep(50);
    handle.group.remove();
  }
  started.delete(handle);
  return leftovers;
}

/** Stops every server still running (for errors and interrupts). */
export async function stopAll() {
  let leftovers = 0;
  for (const handle of [...started]) leftovers += await stopServer(handle);
  return leftovers;
}

/** Last-resort cleanup when the process is exiting and cannot wait. */
function killAllNow() {
  for (const handle of started) {
    for (const info of handle.known.values()) if (stillAlive(info)) kill(info.pid, "SIGKILL");
    if (handle.pid) {
      kill(-handle.pid, "SIGKILL");
      kill(handle.pid, "SIGKILL");
    }
  }
}

let installed = false;
/** On Ctrl-C, SIGTERM or an uncaught error: stop every target, then exit. */
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on("exit", () => {
    killAllNow();
    removeAllGroups();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}: stopping targets\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  process.on("uncaughtException", (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    void stopAll().finally(() => process.exit(1));
  });
}
