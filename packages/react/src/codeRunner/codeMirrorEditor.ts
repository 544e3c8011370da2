import { Compartment, EditorSelection, EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import type { ErrorMark } from "./CodeRunnerContext";
import {
  type EditorSettings,
  type EditorSetup,
  editorExtensions,
  setErrorMark,
  settingsExtensions,
} from "./editorExtensions";

/** A CodeMirror editor mounted by `CodeRunner.Editor`, driven through these calls. */
export interface MountedEditor {
  /** Shows `code` when it differs from the document (a controlled `code` changed). */
  setCode(code: string): void;
  setErrorMark(mark: ErrorMark | null): void;
  /** Changes the label or read-only state in place: the document, selection and history stay. */
  configure(settings: EditorSettings): void;
  /** Focuses the editor with the cursor at `offset` (clamped to the document). */
  focus(offset: number): void;
  destroy(): void;
}

/**
 * Mounts a CodeMirror 6 editor for Python in `parent`. This module is loaded on demand (the
 * editor part imports it dynamically), so an app that never shows an editor never loads CodeMirror.
 */
export function mountEditor(
  parent: HTMLElement,
  options: EditorSetup & EditorSettings & { doc: string },
): MountedEditor {
  const settings = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.doc,
      extensions: [editorExtensions(options), settings.of(settingsExtensions(options))],
    }),
  });
  return {
    setCode(code) {
      const current = view.state.doc.toString();
      if (current !== code)
        view.dispatch({ changes: { from: 0, to: current.length, insert: code } });
    },
    setErrorMark(mark) {
      view.dispatch({ effects: setErrorMark.of(mark) });
    },
    configure(next) {
      view.dispatch({ effects: settings.reconfigure(settingsExtensions(next)) });
    },
    focus(offset) {
      const at = Math.max(0, Math.min(offset, view.state.doc.length));
      view.dispatch({ selection: EditorSelection.cursor(at) });
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}
