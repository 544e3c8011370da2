"use client";

import { stripAnsi } from "@mecha/client/run-store";
import {
  type FormHTMLAttributes,
  forwardRef,
  type InputHTMLAttributes,
  useEffect,
  useRef,
  useState,
} from "react";
import { composeEventHandlers, cx, useComposedRefs } from "../internal/dom";
import { useTerminalContext } from "./TerminalContext";

export interface TerminalInputProps
  extends Omit<InputHTMLAttributes<HTMLInputElement>, "value" | "defaultValue"> {
  /**
   * Move focus to the input when the program asks for input, if focus was in this terminal or its
   * code runner (or nowhere).
   * @default true
   */
  autoFocus?: boolean;
  /** Props for the wrapping `<form>`. */
  formProps?: FormHTMLAttributes<HTMLFormElement>;
}

/**
 * The line where the user answers `input()` or a read of `sys.stdin`. Renders only while the
 * program waits; Enter sends, Ctrl+D in an empty line closes stdin. The answer is echoed into the
 * transcript.
 */
export const TerminalInput = forwardRef<HTMLInputElement, TerminalInputProps>(
  function TerminalInput(
    { autoFocus = true, formProps, className, onKeyDown, ...rest },
    forwardedRef,
  ) {
    const { prompt, submitInput, sendEof, rootRef, jumpToLatest } =
      useTerminalContext("Terminal.Input");
    const [value, setValue] = useState("");
    const inputRef = useRef<HTMLInputElement | null>(null);
    const ref = useComposedRefs(forwardedRef, inputRef);
    const waiting = prompt !== null && submitInput !== null;

    useEffect(() => {
      if (!waiting || !autoFocus) return;
      const input = inputRef.current;
      const root = rootRef.current;
      if (!input || !root) return;
      const active = input.ownerDocument.activeElement;
      const scope = root.closest("[data-mecha-scope]") ?? root;
      if (!active || active === input.ownerDocument.body || scope.contains(active)) {
        input.focus();
      }
    }, [waiting, autoFocus, rootRef]);

    if (!waiting) return null;
    // The prompt is program output: a coloured one carries escape sequences, not words.
    const name = stripAnsi(prompt).trim() || "Input for the program";
    return (
      <form
        {...formProps}
        className={cx("mecha-terminal-input", formProps?.className)}
        data-state="waiting"
        onSubmit={(event) => {
          formProps?.onSubmit?.(event);
          if (event.defaultPrevented && formProps?.onSubmit) return;
          event.preventDefault();
          const text = value;
          setValue("");
          jumpToLatest();
          void submitInput(text).then((sent) => {
            // Give the answer back to edit and resend, unless the user already typed anew.
            if (!sent) setValue((current) => (current === "" ? text : current));
          });
        }}
      >
        <span aria-hidden="true" className="mecha-terminal-inputMarker">
          ›
        </span>
        <input
          ref={ref}
          type="text"
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
          aria-label={name}
          className={cx("mecha-terminal-inputField", className)}
          value={value}
          onChange={(event) => setValue(event.target.value)}
          onKeyDown={composeEventHandlers(onKeyDown, (event) => {
            // "D" without Shift too: Ctrl+D with Caps Lock on. Ctrl+Shift+D is the browser's.
            const key = event.key === "d" || (event.key === "D" && !event.shiftKey);
            const eof = key && event.ctrlKey && !event.altKey && !event.metaKey;
            if (eof && value === "" && sendEof) {
              event.preventDefault();
              sendEof();
            }
          })}
          {...rest}
        />
      </form>
    );
  },
);
