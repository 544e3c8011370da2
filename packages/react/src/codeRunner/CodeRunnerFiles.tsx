"use client";

import { forwardRef, type HTMLAttributes } from "react";
import { cx } from "../internal/dom";
import { useCodeRunnerPart } from "./CodeRunnerContext";
import { formatBytes } from "./format";
import { type FileLink, useFileUrls } from "./useFileUrls";

export interface CodeRunnerFilesProps extends HTMLAttributes<HTMLDivElement> {
  /**
   * Accessible name of the list.
   * @default "Files from the run"
   */
  label?: string;
}

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1) || path;

function note(link: FileLink, limit: number | undefined): string | null {
  switch (link.state) {
    case "omitted":
      return limit === undefined
        ? "not sent: over the output limit"
        : `not sent: over the output limit of ${formatBytes(limit)}`;
    case "unreadable":
      return "not readable: its content was not base64";
    default:
      return null;
  }
}

/**
 * The files the last run returned (ask for them with `returnFiles` in `request`), each a download
 * link with its size. A file the server listed without its content (past the output limit) says
 * so instead of offering an empty download. Renders nothing when the run returned no files.
 */
export const CodeRunnerFiles = forwardRef<HTMLDivElement, CodeRunnerFilesProps>(
  function CodeRunnerFiles({ label = "Files from the run", className, ...rest }, ref) {
    const { run } = useCodeRunnerPart("CodeRunner.Files");
    const files = run.result?.files;
    const links = useFileUrls(files);
    if (!files || files.length === 0) return null;
    const limit = run.result?.limits?.outputBytes;
    return (
      <div ref={ref} className={cx("mecha-codeRunner-files", className)} {...rest}>
        <ul aria-label={label}>
          {files.map((file, index) => {
            const link = links[index] ?? { state: "preparing" };
            const why = note(link, limit);
            return (
              <li key={file.path} data-state={link.state}>
                {link.state === "ready" ? (
                  <a href={link.url} download={basename(file.path)}>
                    {file.path}
                  </a>
                ) : (
                  <span className="mecha-codeRunner-fileName">{file.path}</span>
                )}{" "}
                <span className="mecha-codeRunner-fileSize">{formatBytes(file.size)}</span>
                {why && <span className="mecha-codeRunner-fileNote"> · {why}</span>}
              </li>
            );
          })}
        </ul>
      </div>
    );
  },
);
