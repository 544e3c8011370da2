import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HandlerOptions } from "./options";
import type { QueueOptions } from "./queue/queueOptions";
import { VERSION } from "./version";

export const HELP = `mecha-server ${VERSION} — run Python over HTTP (Mecha protocol v1)

Usage: mecha-server [options]

Options:
  --host <host>          Address to listen on (default 127.0.0.1)
  --port <port>          Port (default $PORT or 5000; 0 picks a free port)
  --sandbox <mode>       auto | required | none (default auto)
  --startup <mode>       zygote | spawn: how runs start, with the sandbox or without it
                         (default zygote)
  --python <path>        Python interpreter, e.g. a virtual environment's bin/python
                         (default: the system python3)
  --preload <modules>    Import these once in the zygote so every run has them loaded,
                         e.g. numpy,pandas,matplotlib (default: none; see the README)
  --cors-origin <origin> Allow a browser origin (repeatable; "*" for any).
                         Default: localhost, 127.0.0.1 and [::1] on any port
  --allowed-host <name>  Accept this Host header too (repeatable; "*" disables the check)
  --token-file <path>    Require "Authorization: Bearer <token>", the token read from this file
                         (or set MECHA_TOKEN; --token <token> works too, but every local user
                         can read a command line)
  --max-concurrent <n>   Runs at once (default: 2 × CPU cores, at least 4)
  --max-queued <n>       Runs waiting for a slot (default: 4 × max-concurrent; with --redis,
                         4 × the live runners' max-concurrent)
  --max-sessions <n>     Sessions open at once, each an interpreter kept between runs
                         (default: 4 × max-concurrent; 0 turns sessions off)
  --session-idle-timeout <ms>  A session unused this long ends; also the most a client may
                         ask for (default 600000, 10 minutes)
  --mcp                  Serve the Model Context Protocol at /mcp (Streamable HTTP): a
                         run_python tool for AI agents, behind the same token and Host check

Scale-out (runs distributed over Redis; without --redis everything runs in this process):
  --redis <url>          Redis to share, e.g. redis://10.0.0.5:6379 (or set MECHA_REDIS_URL,
                         which keeps a password off the command line). Redis must keep keys:
                         maxmemory-policy noeviction
  --role <role>          api: take requests and enqueue runs; runner: execute runs (it listens
                         only with --port, then serves /health and /metrics); both (default)
  --queue-timeout <ms>   How long a run may wait for a runner before 503 busy (default 10000)
  --redis-prefix <name>  Prefix of every Redis key, to share one Redis (default mecha)

Limits (a request may ask for less or more, up to the maximum):
  --timeout <ms>         Wall-clock limit per run (default 10000)
  --max-timeout <ms>     Highest a request may ask for (default 60000)
  --memory <MiB>         Memory per run (default 256)
  --max-memory <MiB>     Highest a request may ask for (default 1024)
  --output-limit <bytes> stdout, stderr and displays per run (default 1048576)
  --max-output-limit <bytes>  Highest a request may ask for (default 10485760)
  --max-file-size <bytes>     Largest file a program may write (default 10485760)
  --max-open-files <n>   Files a program may have open (default 256)
  --max-processes <n>    Processes and threads per run (default 64)
  --max-stdin-buffer <bytes>  Unread standard input a run may hold (default 2097152)
  Sizes take K, M or G (powers of 1024): --max-file-size 50M.

  --quiet                Log only warnings and errors
  -h, --help             Show this help
  -v, --version          Show the version
`;

export class UsageError extends Error {}

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** Host name of a Host header, without its port. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) return value.slice(0, value.indexOf("]") + 1);
  return value.split(":")[0] ?? "";
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min) {
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  }
  return number;
}

const UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A size in bytes: a whole number, optionally with K, M or G (KiB, MiB, GiB). */
function size(name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const bytes = match ? Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < min) {
    throw new UsageError(
      `--${name} must be a size in bytes ≥ ${min} (e.g. 1048576 or 1M), got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}

/** Compares a request's Authorization header with the token in constant time. */
export function bearerMatches(header: string, token: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(header), digest(`Bearer ${token}`));
}

function readToken(values: { token?: string; "token-file"?: string }): string | undefined {
  if (values.token !== undefined && values["token-file"] !== undefined) {
    throw new UsageError("give the token once: --token-file or --token, not both");
  }
  let token: string | undefined;
  if (values["token-file"] !== undefined) {
    try {
      token = readFileSync(values["token-file"], "utf8").trim();
    } catch (error) {
      throw new UsageError(
        `cannot read --token-file ${values["token-file"]}: ${(error as Error).message}`,
      );
    }
    if (!token) throw new UsageError(`--token-file ${values["token-file"]} is empty`);
    return token;
  }
  token = values.token ?? process.env.MECHA_TOKEN;
  if (token !== undefined && !token.trim()) throw new UsageError("the token is empty");
  return token?.trim();
}

/** What the CLI was asked to do. */
export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | {
      kind: "serve";
      host: string;
      port: number;
      /** False for a runner started without --port: it takes runs from Redis, serves nothing. */
      listen: boolean;
      options: HandlerOptions;
      /** Warnings to print before serving. */
      warnings: string[];
    };

function limitPair(
  name: string,
  value: number | undefined,
  maxName: string,
  max: number | undefined,
  fallbackMax: number,
): void {
  if (value !== undefined && value > (max ?? fallbackMax)) {
    throw new UsageError(
      `--${name} ${value} is above --max-${maxName} ${max ?? fallbackMax}; raise --max-${maxName} too`,
    );
  }
}

function queueOptions(
  values: {
    redis?: string;
    role?: string;
    "queue-timeout"?: string;
    "redis-prefix"?: string;
  },
  warnings: string[],
): QueueOptions | undefined {
  const redis = values.redis ?? process.env.MECHA_REDIS_URL;
  if (redis === undefined) {
    for (const name of ["role", "queue-timeout", "redis-prefix"] as const) {
      if (values[name] !== undefined) throw new UsageError(`--${name} needs --redis <url>`);
    }
    return undefined;
  }
  if (!/^rediss?:\/\/./.test(redis)) {
    throw new UsageError(
      `--redis must be a redis:// or rediss:// URL (e.g. redis://127.0.0.1:6379), got ${JSON.stringify(redis)}`,
    );
  }
  if (values.redis !== undefined && /\/\/[^/@]*:[^/@]+@/.test(values.redis)) {
    warnings.push(
      "mecha-server: the Redis password in --redis is readable by every local user (/proc/<pid>/cmdline); set MECHA_REDIS_URL instead.",
    );
  }
  const role = values.role ?? "both";
  if (role !== "api" && role !== "runner" && role !== "both") {
    throw new UsageError(`--role must be api, runner or both, got ${JSON.stringify(role)}`);
  }
  const queueTimeoutMs = integer("queue-timeout", values["queue-timeout"], 1);
  const prefix = values["redis-prefix"];
  if (prefix !== undefined && !/^[\w.-]+$/.test(prefix)) {
    throw new UsageError(
      `--redis-prefix may hold letters, digits, "_", "." and "-", got ${JSON.stringify(prefix)}`,
    );
  }
  return {
    redis,
    role,
    ...(queueTimeoutMs !== undefined ? { queueTimeoutMs } : {}),
    ...(prefix !== undefined ? { prefix } : {}),
  };
}

/** Parses and checks the command line; throws `UsageError` with a message for the user. */
export function parseCommand(argv: string[]): Command {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      sandbox: { type: "string" },
      startup: { type: "string" },
      python: { type: "string" },
      preload: { type: "string" },
      "cors-origin": { type: "string", multiple: true },
      "allowed-host": { type: "string", multiple: true },
      token: { type: "string" },
      "token-file": { type: "string" },
      "max-concurrent": { type: "string" },
      "max-queued": { type: "string" },
      "max-sessions": { type: "string" },
      "session-idle-timeout": { type: "string" },
      mcp: { type: "boolean" },
      timeout: { type: "string" },
      "max-timeout": { type: "string" },
      memory: { type: "string" },
      "max-memory": { type: "string" },
      "output-limit": { type: "string" },
      "max-output-limit": { type: "string" },
      "max-file-size": { type: "string" },
      "max-open-files": { type: "string" },
      "max-processes": { type: "string" },
      "max-stdin-buffer": { type: "string" },
      redis: { type: "string" },
      role: { type: "string" },
      "queue-timeout": { type: "string" },
      "redis-prefix": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
    },
  });
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const warnings: string[] = [];
  const host = values.host ?? "127.0.0.1";
  const port = integer("port", values.port ?? process.env.PORT, 0) ?? 5000;
  if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const sandbox = values.sandbox ?? "auto";
  if (sandbox !== "auto" && sandbox !== "required" && sandbox !== "none") {
    throw new UsageError(
      `--sandbox must be auto, required or none, got ${JSON.stringify(sandbox)}`,
    );
  }
  const startup = values.startup ?? "zygote";
  if (startup !== "spawn" && startup !== "zygote") {
    throw new UsageError(`--startup must be spawn or zygote, got ${JSON.stringify(startup)}`);
  }
  const preload = values.preload
    ?.split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of preload ?? []) {
    if (!/^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(name)) {
      throw new UsageError(
        `--preload takes module names separated by commas (e.g. numpy,pandas), got ${JSON.stringify(name)}`,
      );
    }
  }
  if (values.token !== undefined) {
    warnings.push(
      "mecha-server: --token is readable by every local user (/proc/<pid>/cmdline); use MECHA_TOKEN or --token-file instead.",
    );
  }
  const token = readToken(values);
  const origins = values["cors-origin"];
  const extraHosts = values["allowed-host"] ?? [];
  const allowedHosts = extraHosts.includes("*")
    ? null
    : new Set([
        ...LOCAL_HOSTS,
        ...extraHosts.map((name) => hostName(name)),
        ...(host === "0.0.0.0" || host === "::"
          ? []
          : [hostName(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host)]),
      ]);
  const maxConcurrent = integer("max-concurrent", values["max-concurrent"], 1);
  const maxQueued = integer("max-queued", values["max-queued"], 0);
  const maxSessions = integer("max-sessions", values["max-sessions"], 0);
  const sessionIdleTimeoutMs = integer(
    "session-idle-timeout",
    values["session-idle-timeout"],
    1000,
  );
  const timeout = integer("timeout", values.timeout, 1);
  const maxTimeout = integer("max-timeout", values["max-timeout"], 1);
  const memory = integer("memory", values.memory, 16);
  const maxMemory = integer("max-memory", values["max-memory"], 16);
  const output = size("output-limit", values["output-limit"]);
  const maxOutput = size("max-output-limit", values["max-output-limit"]);
  limitPair("timeout", timeout, "timeout", maxTimeout, 60_000);
  limitPair("memory", memory, "memory", maxMemory, 1024);
  limitPair("output-limit", output, "output-limit", maxOutput, 10 << 20);
  const maxFileBytes = size("max-file-size", values["max-file-size"]);
  const maxOpenFiles = integer("max-open-files", values["max-open-files"], 16);
  const maxProcesses = integer("max-processes", values["max-processes"], 1);
  const maxStdinBuffer = size("max-stdin-buffer", values["max-stdin-buffer"]);
  const defined = <T extends object>(object: T): Partial<T> =>
    Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
  const options: HandlerOptions = {
    sandbox,
    startup,
    ...(values.mcp ? { mcp: true } : {}),
    ...defined({
      python: values.python,
      preload,
      maxConcurrent,
      maxQueued,
      maxSessions,
      sessionIdleTimeoutMs,
      maxFileBytes,
      maxOpenFiles,
      maxProcesses,
      maxStdinBuffer,
    }),
    defaultLimits: defined({ timeoutMs: timeout, memoryMb: memory, outputBytes: output }),
    maxLimits: defined({ timeoutMs: maxTimeout, memoryMb: maxMemory, outputBytes: maxOutput }),
    cors: origins?.includes("*")
      ? "*"
      : origins
        ? origins
        : (origin: string) => LOCAL_ORIGIN.test(origin),
    logger: values.quiet ? { ...console, info() {}, debug() {} } : console,
    authorize: (request) => {
      if (allowedHosts) {
        const name = hostName(request.headers.get("host") ?? "");
        if (!allowedHosts.has(name)) {
          return {
            status: 403,
            detail: `Host ${JSON.stringify(name)} is not allowed; start mecha-server with --allowed-host ${name || "<name>"} to accept it.`,
          };
        }
      }
      if (token && request.method !== "OPTIONS") {
        if (!bearerMatches(request.headers.get("authorization") ?? "", token)) {
          return {
            status: 401,
            detail: 'Send "Authorization: Bearer <token>" with the server\'s token.',
          };
        }
      }
      return true;
    },
  };
  const queue = queueOptions(values, warnings);
  if (queue) options.queue = queue;
  const listen = queue?.role !== "runner" || values.port !== undefined;
  return { kind: "serve", host, port, listen, options, warnings };
}
