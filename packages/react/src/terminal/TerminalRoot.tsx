"use client";

import type { RunState, TerminalBuffer, TerminalLineInput } from "@mecha/client/run-store";
import { forwardRef, type HTMLAttributes, useMemo, useRef, useState } from "react";
import { cx, useComposedRefs } from "../internal/dom";
import { TerminalContext, type TerminalContextValue, type TerminalState } from "./TerminalContext";
import { useControlledBuffer } from "./useControlledBuffer";

/** What `<Terminal run>` needs from `useRun`'s result. */
export interface TerminalRun {
  output: TerminalBuffer;
  state: RunState;
  prompt: string | null;
  sendInput(text: string): Promise<void>;
  sendEof(): Promise<void>;
}

export interface TerminalRootProps extends HTMLAttributes<HTMLDivElement> {
  /** A run from `useRun`: its output, prompts and input, all wired up. */
  run?: TerminalRun;
  /** A transcript to show (e.g. from `createTerminalBuffer`), when not using `run`. */
  buffer?: TerminalBuffer;
  /**
   * Controlled plain lines (each entry one line; ANSI colours and `\r` are honoured). Appending
   * to the array appends to the transcript; any other change redraws it.
   */
  lines?: ReadonlyArray<TerminalLineInput>;
  /** Shows the input line with this prompt (when not using `run`); null hides it. */
  prompt?: string | null;
  /** Called with the text the user submitted in the input line (when not using `run`). */
  onSubmitInput?: (text: string) => void;
  /** Called when the user presses Ctrl+D in an empty input line (when not using `run`). */
  onEof?: () => void;
  /**
   * Called when the user clears the terminal. With `run` or `buffer` the transcript is emptied
   * anyway; with `lines`, clearing is up to you (the Clear button shows only with this prop).
   */
  onClear?: () => void;
  /**
   * Accessible name of the output log.
   * @default "Terminal output"
   */
  label?: string;
  /**
   * With `lines` (not `run` or `buffer`, which have their own): caps the transcript; once it holds
   * a tenth more lines than this, the oldest are dropped down to `maxLines`. Read on mount.
   * @default Infinity
   */
  maxLines?: number;
}

/** Holds the terminal's state for its parts. Renders a `<div>`. */
export const TerminalRoot = forwardRef<HTMLDivElement, TerminalRootProps>(function TerminalRoot(
  {
    run,
    buffer: givenBuffer,
    lines,
    prompt: givenPrompt,
    onSubmitInput,
    onEof,
    onClear,
    label = "Terminal output",
    maxLines,
    className,
    children,
    ...rest
  },
  forwardedRef,
) {
  const controlled = useControlledBuffer(run || givenBuffer ? undefined : lines, maxLines);
  const buffer = run?.output ?? givenBuffer ?? controlled;
  const prompt = run ? run.prompt : (givenPrompt ?? null);
  const active = run ? run.state === "queued" || run.state === "running" : false;
  const state: TerminalState = prompt !== null ? "waiting" : active ? "running" : "idle";
  const [following, setFollowing] = useState(true);
  const jumpRef = useRef<(() => void) | null>(null);
  const rootRef = useRef<HTMLDivElement | null>(null);
  const ref = useComposedRefs(forwardedRef, rootRef);

  const latest = useRef({ run, onSubmitInput, onEof, onClear });
  latest.current = { run, onSubmitInput, onEof, onClear };
  const hasInput = Boolean(run || onSubmitInput);
  const hasEof = Boolean(run || onEof);
  const canClear = Boolean(run || givenBuffer || onClear);

  const value = useMemo<TerminalContextValue>(
    () => ({
      buffer,
      state,
      prompt,
      label,
      submitInput: hasInput
        ? (text) => {
            const { run: current, onSubmitInput: handler } = latest.current;
            if (!current) {
              handler?.(text);
              return Promise.resolve(true);
            }
            // The run writes why into the transcript and shows the prompt again.
            return current.sendInput(text).then(
              () => true,
              () => false,
            );
          }
        : null,
      sendEof: hasEof
        ? () => {
            const { run: current, onEof: handler } = latest.current;
            // A failure is reported in the run's transcript.
            if (current) current.sendEof().catch(() => {});
            else handler?.();
          }
        : null,
      clear: canClear
        ? () => {
            if (latest.current.run || givenBuffer) buffer.clear();
            latest.current.onClear?.();
          }
        : null,
      following,
      setFollowing,
      jumpToLatest: () => jumpRef.current?.(),
      registerJump: (jump) => {
        jumpRef.current = jump;
      },
      rootRef,
    }),
    [buffer, state, prompt, label, hasInput, hasEof, canClear, givenBuffer, following],
  );

  return (
    <TerminalContext.Provider value={value}>
      <div
        ref={ref}
        className={cx("mecha-terminal", className)}
        {...rest}
        data-state={state}
        data-following={following ? "" : undefined}
        data-run-state={run?.state}
      >
        {children}
      </div>
    </TerminalContext.Provider>
  );
});
