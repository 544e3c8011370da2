import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import {
  bracketMatching,
  HighlightStyle,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { type EditorState, type Extension, Prec, StateEffect, StateField } from "@codemirror/state";
import {
  Decoration,
  type DecorationSet,
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
  showPanel,
  WidgetType,
} from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { ErrorMark } from "./CodeRunnerContext";

/** Sets (or with null clears) the marked error line. */
export const setErrorMark = StateEffect.define<ErrorMark | null>();

class ErrorMessageWidget extends WidgetType {
  constructor(readonly message: string) {
    super();
  }
  override eq(other: ErrorMessageWidget): boolean {
    return other.message === this.message;
  }
  toDOM(): HTMLElement {
    const element = document.createElement("span");
    element.className = "mecha-editor-errorMessage";
    // The run status already says this in words; in the code it would read as code.
    element.setAttribute("aria-hidden", "true");
    element.textContent = this.message;
    return element;
  }
}

function decorate(state: EditorState, mark: ErrorMark): DecorationSet {
  if (mark.line < 1 || mark.line > state.doc.lines) return Decoration.none;
  const line = state.doc.line(mark.line);
  return Decoration.set([
    Decoration.line({
      class: "mecha-editor-errorLine",
      attributes: { "data-state": "error", title: mark.message },
    }).range(line.from),
    Decoration.widget({ widget: new ErrorMessageWidget(mark.message), side: 1 }).range(line.to),
  ]);
}

/** Marks the failing line; any edit clears the mark (the code it described has changed). */
const errorMarkField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, transaction) {
    for (const effect of transaction.effects) {
      if (effect.is(setErrorMark)) {
        return effect.value ? decorate(transaction.state, effect.value) : Decoration.none;
      }
    }
    return transaction.docChanged ? Decoration.none : decorations;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** Syntax colours as theme variables, with fallbacks for use without the stylesheet. */
const highlightStyle = HighlightStyle.define([
  {
    tag: [tags.keyword, tags.controlKeyword, tags.operatorKeyword, tags.definitionKeyword],
    color: "var(--mecha-syntax-keyword, #8839ef)",
  },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--mecha-syntax-string, #2f7d32)" },
  { tag: [tags.number, tags.bool, tags.null], color: "var(--mecha-syntax-number, #b35900)" },
  {
    tag: [tags.comment, tags.lineComment],
    color: "var(--mecha-syntax-comment, #6b7280)",
    fontStyle: "italic",
  },
  {
    tag: [tags.function(tags.variableName), tags.function(tags.propertyName)],
    color: "var(--mecha-syntax-function, #1d4ed8)",
  },
  {
    tag: [tags.definition(tags.variableName), tags.className, tags.definition(tags.className)],
    color: "var(--mecha-syntax-definition, #0e7490)",
  },
  {
    tag: [tags.self, tags.standard(tags.variableName)],
    color: "var(--mecha-syntax-builtin, #c2410c)",
  },
  { tag: [tags.operator, tags.punctuation], color: "var(--mecha-syntax-operator, inherit)" },
]);

export interface EditorSetup {
  /** Runs or stops the code (Ctrl/Cmd+Enter). */
  onToggleRun: () => void;
  /** Called with the new text after every edit. */
  onChange: (code: string) => void;
}

/** What the host may change on a live editor (in a compartment, so its history stays). */
export interface EditorSettings {
  /** Accessible name of the editing area. */
  label: string;
  readOnly: boolean;
  /** The keyboard hint shown under the code (and read as its description); null for none. */
  hint: string | null;
  /** The hint element's id, unique in the page. */
  hintId: string;
}

/** A strip under the code that says how the keyboard works here. */
function hintPanel(text: string, id: string) {
  const dom = document.createElement("div");
  dom.className = "mecha-editor-hint";
  dom.id = id;
  dom.textContent = text;
  return { dom, top: false };
}

/** The extensions for `settings`, for their compartment. */
export function settingsExtensions(settings: EditorSettings): Extension[] {
  const { hint, hintId } = settings;
  return [
    EditorView.contentAttributes.of({
      "aria-label": settings.label,
      ...(hint ? { "aria-describedby": hintId } : {}),
    }),
    EditorView.editable.of(!settings.readOnly),
    ...(hint ? [showPanel.of(() => hintPanel(hint, hintId))] : []),
  ];
}

/** The editor's behaviour: Python highlighting and indentation, Tab to indent, history. */
export function editorExtensions(setup: EditorSetup): Extension[] {
  return [
    Prec.highest(
      keymap.of([
        {
          key: "Mod-Enter",
          run: () => {
            setup.onToggleRun();
            return true;
          },
        },
      ]),
    ),
    lineNumbers(),
    highlightActiveLineGutter(),
    history(),
    drawSelection(),
    indentOnInput(),
    bracketMatching(),
    highlightActiveLine(),
    indentUnit.of("    "),
    python(),
    syntaxHighlighting(highlightStyle),
    // Tab indents; Escape then Tab (or Ctrl+M) moves focus on, so the keyboard is never trapped.
    keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
    errorMarkField,
    // Code reads from the left edge, whatever the host's text-align.
    EditorView.theme({ "&": { textAlign: "start" } }),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) setup.onChange(update.state.doc.toString());
    }),
  ];
}
