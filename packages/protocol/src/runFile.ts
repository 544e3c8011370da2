import * as z from "zod/mini";
import { expected, quote, text } from "./internal/messages";
import { relativePath } from "./relativePath";

/** The most files a request may carry. */
const MAX_FILES = 100;
/** The most `returnFiles` patterns a request may give. */
const MAX_RETURN_PATTERNS = 20;

/** A file written into the working directory before the program starts. */
export const RunFile = z.object(
  {
    /** A relative path inside the run's working directory, e.g. `"utils/helpers.py"`. */
    path: relativePath("path"),
    content: text("content", "the file's text, a string"),
  },
  { error: expected("each file", "an object {path, content}") },
);
export type RunFile = z.infer<typeof RunFile>;

/**
 * The issues of paths that cannot all be written: one listed twice, or one that needs another
 * file of the list to be a folder (`sub` and `sub/a.py`).
 */
function clashes(files: readonly RunFile[]): { index: number; message: string }[] {
  // Zod runs this only once every entry is valid, so each path is a clean relative one.
  const paths = files.map((file) => file.path);
  const seen = new Set<string>();
  const found: { index: number; message: string }[] = [];
  paths.forEach((path, index) => {
    if (seen.has(path)) found.push({ index, message: `path ${quote(path)} is listed twice` });
    seen.add(path);
  });
  paths.forEach((path, index) => {
    const segments = path.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const folder = segments.slice(0, depth).join("/");
      if (!seen.has(folder)) continue;
      found.push({
        index,
        message: `path ${quote(path)} needs ${quote(folder)} to be a folder, but another file has that path`,
      });
      break;
    }
  });
  return found;
}

/** Files of a request: at most 100, every path writable together with the others. */
export const RunFiles = z
  .array(RunFile, { error: expected("files", "a list of {path, content} objects") })
  .check(
    z.maxLength(MAX_FILES, { error: `files may list at most ${MAX_FILES} files` }),
    z.superRefine((files, ctx) => {
      for (const { index, message } of clashes(files)) {
        ctx.addIssue({ code: "custom", message, input: files[index]?.path, path: [index, "path"] });
      }
    }),
  );
export type RunFiles = z.infer<typeof RunFiles>;

/**
 * `returnFiles`: glob patterns relative to the working directory (`["*.png", "out/*.csv"]`) of
 * files the program writes that the result should carry back.
 */
export const ReturnFiles = z
  .array(relativePath("returnFiles pattern"), {
    error: expected("returnFiles", 'a list of glob patterns such as ["*.png", "out/*.csv"]'),
  })
  .check(
    z.maxLength(MAX_RETURN_PATTERNS, {
      error: `returnFiles may give at most ${MAX_RETURN_PATTERNS} patterns`,
    }),
  );
export type ReturnFiles = z.infer<typeof ReturnFiles>;
