import type { ReturnedFile } from "@mecha/protocol";

/** The most files one run's result lists. */
export const MAX_RETURNED_FILES = 1000;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A path the bootstrap could have found in the working directory: relative, without `.` or `..`. */
function isRelative(path: string): boolean {
  if (!path || path.startsWith("/") || path.includes("\0")) return false;
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/**
 * The files a run sends back (`returnFiles`), as the bootstrap read them from the working
 * directory once the program had ended. They share what the output limit has left once
 * stdout, stderr and displays are counted: in the order found, each file whole while it fits,
 * and past that listed with `content: null, truncated: true`.
 */
export class ReturnedFiles {
  private readonly found: { path: string; size: number; content: string | null }[] = [];
  private readonly paths = new Set<string>();

  add(file: { path: string; size: number; content: string | null }): void {
    if (this.found.length >= MAX_RETURNED_FILES || !isRelative(file.path)) return;
    if (this.paths.has(file.path)) return;
    this.paths.add(file.path);
    const valid = file.content !== null && file.content.length % 4 === 0;
    this.found.push({
      ...file,
      content: valid && BASE64.test(file.content!) ? file.content : null,
    });
  }

  /** The files, given `room` bytes of the output limit left. */
  settle(room: number): ReturnedFile[] {
    let left = room;
    return this.found.map(({ path, size, content }) => {
      const bytes =
        content === null ? Number.POSITIVE_INFINITY : Buffer.byteLength(content, "base64");
      if (bytes > left) return { path, size, content: null, truncated: true };
      left -= bytes;
      return { path, size, content };
    });
  }
}
