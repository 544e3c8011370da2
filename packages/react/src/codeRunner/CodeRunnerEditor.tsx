"use client";

import { forwardRef, type HTMLAttributes, useEffect, useId, useRef, useState } from "react";
import { flushSync } from "react-dom";
import { cx } from "../internal/dom";
import { useCodeRunnerPart } from "./CodeRunnerContext";
import type { MountedEditor } from "./codeMirrorEditor";

export interface CodeRunnerEditorProps extends HTMLAttributes<HTMLDivElement> {
  /**
   * Accessible name of the editing area.
   * @default "Python code"
   */
  label?: string;
  /** Prevents editing. */
  readOnly?: boolean;
  /**
   * How the keyboard works in the editor, shown under the code and read as the editing area's
   * description: Tab indents there, so a keyboard user needs to know how to leave it. Null hides
   * it (say it elsewhere then).
   * @default "Esc then Tab leaves the editor · Ctrl+Enter runs"
   */
  keyboardHint?: string | null;
}

export const DEFAULT_KEYBOARD_HINT = "Esc then Tab leaves the editor · Ctrl+Enter runs";

// CodeMirror is a chunk of its own, fetched when an editor first mounts: an app that imports only
// the terminal, or renders on the server, never loads it.
const loadCodeMirror = () => import("./codeMirrorEditor");

/**
 * A CodeMirror 6 editor for Python: highlighting, indentation, Tab to indent (Escape then Tab
 * leaves, as the hint under the code says), Ctrl/Cmd+Enter to run, and the failing line marked
 * after an exception. CodeMirror
 * loads when the editor mounts; until then (on the server too), and for good if it cannot be
 * loaded, the code is in a plain labelled text area that can already be edited.
 * `data-state`: `loading`, `ready`, `error` (a line is marked), or `plain` (CodeMirror could not
 * be loaded).
 */
export const CodeRunnerEditor = forwardRef<HTMLDivElement, CodeRunnerEditorProps>(
  function CodeRunnerEditor(
    {
      label = "Python code",
      readOnly = false,
      keyboardHint = DEFAULT_KEYBOARD_HINT,
      className,
      ...rest
    },
    ref,
  ) {
    const hintId = useId();
    const hint = keyboardHint || null;
    const { code, setCode, toggle, errorMark, run } = useCodeRunnerPart("CodeRunner.Editor");
    const hostRef = useRef<HTMLDivElement | null>(null);
    const plainRef = useRef<HTMLTextAreaElement | null>(null);
    const [editor, setEditor] = useState<MountedEditor | null>(null);
    const [failed, setFailed] = useState(false);
    const latest = useRef({ setCode, toggle, code, label, readOnly, hint });
    latest.current = { setCode, toggle, code, label, readOnly, hint };

    useEffect(() => {
      const parent = hostRef.current;
      if (!parent) return;
      let mounted: MountedEditor | null = null;
      let cancelled = false;
      loadCodeMirror().then(
        ({ mountEditor }) => {
          if (cancelled) return;
          const { code: doc, label: name, readOnly: locked, hint: shown } = latest.current;
          const plain = plainRef.current;
          const typing = plain !== null && plain.ownerDocument.activeElement === plain;
          mounted = mountEditor(parent, {
            doc,
            label: name,
            readOnly: locked,
            hint: shown,
            hintId,
            onToggleRun: () => latest.current.toggle(),
            onChange: (next) => {
              if (next !== latest.current.code) latest.current.setCode(next);
            },
          });
          // Swap at once, so the text area and the editor are never on screen together.
          flushSync(() => setEditor(mounted));
          // Someone was typing in the plain text area: carry on in the editor, at the same place.
          if (typing) mounted.focus(plain.selectionStart);
        },
        () => {
          if (!cancelled) setFailed(true);
        },
      );
      return () => {
        cancelled = true;
        mounted?.destroy();
        setEditor(null);
      };
    }, [hintId]);

    // Reconfigured in place, so the document keeps its undo history.
    useEffect(
      () => editor?.configure({ label, readOnly, hint, hintId }),
      [editor, label, readOnly, hint, hintId],
    );
    // A controlled `code` changed from outside: show it.
    useEffect(() => editor?.setCode(code), [editor, code]);
    useEffect(() => editor?.setErrorMark(errorMark), [editor, errorMark]);

    return (
      <div
        ref={ref}
        className={cx("mecha-editor", className)}
        {...rest}
        data-state={errorMark ? "error" : editor ? "ready" : failed ? "plain" : "loading"}
        data-run-state={run.state}
      >
        <div ref={hostRef} className="mecha-editor-host" />
        {!editor && (
          <textarea
            ref={plainRef}
            className="mecha-editor-fallback"
            aria-label={label}
            value={code}
            readOnly={readOnly}
            rows={Math.max(1, code.split("\n").length)}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            onChange={(event) => setCode(event.target.value)}
          />
        )}
      </div>
    );
  },
);
