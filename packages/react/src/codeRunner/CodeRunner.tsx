"use client";

import { forwardRef, type ReactNode } from "react";
import { CodeRunnerEditor, type CodeRunnerEditorProps } from "./CodeRunnerEditor";
import { CodeRunnerFiles } from "./CodeRunnerFiles";
import { CodeRunnerOutput, type CodeRunnerOutputProps } from "./CodeRunnerOutput";
import { CodeRunnerRoot, type CodeRunnerRootProps } from "./CodeRunnerRoot";
import { CodeRunnerRunButton } from "./CodeRunnerRunButton";
import { CodeRunnerStats } from "./CodeRunnerStats";
import { CodeRunnerStatus } from "./CodeRunnerStatus";

export interface CodeRunnerProps extends CodeRunnerRootProps {
  /** Props for the editor part. */
  editorProps?: CodeRunnerEditorProps;
  /** Props for the output terminal. */
  outputProps?: CodeRunnerOutputProps;
  /** Extra toolbar content, before the Run button. */
  actions?: ReactNode;
}

/**
 * An editor, a Run/Stop button, where the code runs, a terminal with the program's text and rich
 * output (plots, tables), the files it returned, and the run's figures, laid out.
 * For another layout, compose `CodeRunner.Root` with its parts.
 * @example
 * <CodeRunner defaultCode={'name = input("Name? ")\nprint("Hi", name)'} limits={{ timeoutMs: 5000 }} />
 */
const CodeRunnerComponent = forwardRef<HTMLDivElement, CodeRunnerProps>(function CodeRunner(
  { editorProps, outputProps, actions, children, ...props },
  ref,
) {
  return (
    <CodeRunnerRoot ref={ref} {...props}>
      <div className="mecha-codeRunner-toolbar">
        <CodeRunnerStatus />
        <span className="mecha-codeRunner-spacer" />
        {actions}
        <CodeRunnerRunButton />
      </div>
      <CodeRunnerEditor {...editorProps} />
      <CodeRunnerOutput {...outputProps} />
      <CodeRunnerFiles />
      <CodeRunnerStats />
      {children}
    </CodeRunnerRoot>
  );
});

type CodeRunnerCompound = typeof CodeRunnerComponent & {
  Root: typeof CodeRunnerRoot;
  Editor: typeof CodeRunnerEditor;
  RunButton: typeof CodeRunnerRunButton;
  Output: typeof CodeRunnerOutput;
  Files: typeof CodeRunnerFiles;
  Status: typeof CodeRunnerStatus;
  Stats: typeof CodeRunnerStats;
};

export const CodeRunner = Object.assign(CodeRunnerComponent, {
  Root: CodeRunnerRoot,
  Editor: CodeRunnerEditor,
  RunButton: CodeRunnerRunButton,
  Output: CodeRunnerOutput,
  Files: CodeRunnerFiles,
  Status: CodeRunnerStatus,
  Stats: CodeRunnerStats,
}) as CodeRunnerCompound;
