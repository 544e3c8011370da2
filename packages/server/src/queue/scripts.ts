/// <reference path="../rawText.d.ts" />
import type { Redis } from "ioredis";
import append from "./lua/append.lua?raw";
import beat from "./lua/beat.lua?raw";
import cancel from "./lua/cancel.lua?raw";
import census from "./lua/census.lua?raw";
import claim from "./lua/claim.lua?raw";
import expire from "./lua/expire.lua?raw";
import reap from "./lua/reap.lua?raw";
import session from "./lua/session.lua?raw";
import sessionOpen from "./lua/sessionOpen.lua?raw";
import sessionView from "./lua/sessionView.lua?raw";
import stdin from "./lua/stdin.lua?raw";
import submit from "./lua/submit.lua?raw";
import takeStdin from "./lua/takeStdin.lua?raw";

/** Every script reads the time from Redis, so instances on machines with skewed clocks agree. */
const PRELUDE = `local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** The scripts, each with how many of its arguments are keys. */
const SCRIPTS = {
  submit: { keys: 3, lua: submit },
  claim: { keys: 4, lua: claim },
  append: { keys: 4, lua: append },
  stdin: { keys: 2, lua: stdin },
  takeStdin: { keys: 2, lua: takeStdin },
  cancel: { keys: 3, lua: cancel },
  expire: { keys: 3, lua: expire },
  beat: { keys: 3, lua: beat },
  census: { keys: 1, lua: census },
  reap: { keys: 1, lua: reap },
  sessionOpen: { keys: 2, lua: sessionOpen },
  sessionView: { keys: 1, lua: sessionView },
  session: { keys: 2, lua: session },
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type Argument = string | number;

/** A Redis connection with Mecha's scripts loaded (sent by hash, re-sent when Redis lost them). */
export interface ScriptedRedis {
  readonly redis: Redis;
  run(name: ScriptName, keys: readonly string[], args: readonly Argument[]): Promise<unknown>;
}

export function withScripts(redis: Redis): ScriptedRedis {
  for (const [name, { keys, lua }] of Object.entries(SCRIPTS)) {
    redis.defineCommand(`mecha_${name}`, { numberOfKeys: keys, lua: PRELUDE + lua });
  }
  const commands = redis as unknown as Record<string, (...args: Argument[]) => Promise<unknown>>;
  return {
    redis,
    run(name, keys, args) {
      if (keys.length !== SCRIPTS[name].keys) {
        throw new Error(`script ${name} takes ${SCRIPTS[name].keys} keys, got ${keys.length}`);
      }
      return commands[`mecha_${name}`]!(...keys, ...args);
    },
  };
}
