import * as z from "zod/mini";
import { expected, quote } from "./internal/messages";

/** The longest path, or `returnFiles` pattern, a request may give. */
export const MAX_PATH_LENGTH = 255;

/**
 * Why `path` can never name a file inside a run's working directory, or null when it can: it
 * must be non-empty, at most 255 characters, free of NUL bytes and backslashes (folders are
 * separated by `/`, on every server), relative (no leading `/` or Windows drive such as `C:`),
 * and made of non-empty segments other than `.` and `..`. Whether
 * the file exists, or clashes with another, is for the caller to say.
 */
export function describePathProblem(path: string): string | null {
  if (path.length === 0) return "is empty";
  if (path.length > MAX_PATH_LENGTH) return `is longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes("\0")) return "contains a NUL byte";
  if (path.startsWith("/")) {
    return 'is absolute (it starts with "/"): give it relative to the working directory, e.g. "data/input.csv"';
  }
  if (path.startsWith("\\") || /^[A-Za-z]:/.test(path)) {
    return "is a Windows absolute path: give it relative to the working directory, with / between folders";
  }
  if (path.includes("\\")) return "contains a backslash: separate folders with /";
  for (const segment of path.split("/")) {
    if (segment === "") return 'has an empty segment (a doubled, leading or trailing "/")';
    if (segment === ".") return 'has a "." segment: write the path without it';
    if (segment === "..") return 'has a ".." segment: paths stay inside the working directory';
  }
  return null;
}

/** A relative path inside the working directory; issues name the field as `name`. */
export function relativePath(name: string) {
  return z.string({ error: expected(name, 'a relative path such as "data/input.csv"') }).check(
    z.superRefine((value, ctx) => {
      const problem = describePathProblem(value);
      if (problem === null) return;
      ctx.addIssue({ code: "custom", message: `${name} ${quote(value)} ${problem}`, input: value });
    }),
  );
}

/**
 * A path relative to a run's (or session's) working directory, e.g. `"utils/helpers.py"`; see
 * {@link describePathProblem} for what it rejects.
 */
export const RelativePath = relativePath("path");
