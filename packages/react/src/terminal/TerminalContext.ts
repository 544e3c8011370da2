import type { TerminalBuffer } from "@mecha/client/run-store";
import { createContext, useContext } from "react";
import { MechaReactError } from "../MechaReactError";

/** `idle`, `running` (a program is going), or `waiting` (it waits in `input()`). */
export type TerminalState = "idle" | "running" | "waiting";

/** What `Terminal.Root` shares with its parts. */
export interface TerminalContextValue {
  buffer: TerminalBuffer;
  state: TerminalState;
  prompt: string | null;
  label: string;
  /** Resolves false when the text could not be sent (the run's transcript says why). */
  submitInput: ((text: string) => Promise<boolean>) | null;
  sendEof: (() => void) | null;
  clear: (() => void) | null;
  following: boolean;
  setFollowing(following: boolean): void;
  /** Scrolls the viewport to the newest line and follows new output again. */
  jumpToLatest(): void;
  registerJump(jump: (() => void) | null): void;
  rootRef: { current: HTMLDivElement | null };
}

export const TerminalContext = createContext<TerminalContextValue | null>(null);

/** The surrounding `Terminal.Root`'s state; `part` names the caller in the error without one. */
export function useTerminalContext(part: string): TerminalContextValue {
  const value = useContext(TerminalContext);
  if (!value) {
    throw new MechaReactError("invalid_props", `<${part}> must be used within <Terminal.Root>.`);
  }
  return value;
}
