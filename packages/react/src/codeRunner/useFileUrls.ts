import type { ReturnedFile } from "@mecha/protocol";
import { useEffect, useState } from "react";

/**
 * The types a returned file's Blob may carry. Anything else is `application/octet-stream`: a
 * Blob URL has the page's origin, so an HTML or SVG file opened from its link (a middle click
 * ignores `download`) would run its scripts as the page. These types a browser only shows.
 */
const SAFE_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  txt: "text/plain;charset=utf-8",
  log: "text/plain;charset=utf-8",
  csv: "text/csv;charset=utf-8",
  json: "application/json",
};

/** The Blob type of a returned file, from its name (see {@link SAFE_TYPES}). */
export function blobType(path: string): string {
  const extension = /\.([^./]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  return SAFE_TYPES[extension] ?? "application/octet-stream";
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> | null {
  try {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

/** A returned file's link: a Blob URL, or why there is none. */
export type FileLink =
  | { state: "ready"; url: string }
  | { state: "omitted" }
  | { state: "unreadable" }
  | { state: "preparing" };

/**
 * Blob URLs for the files a run returned, made after render (never on the server) and revoked
 * when the files change or the component unmounts. A file listed without content (`content:
 * null`, over the output limit) is `omitted`; content that is not base64 is `unreadable`.
 */
export function useFileUrls(files: readonly ReturnedFile[] | undefined): FileLink[] {
  const [made, setMade] = useState<{ files: readonly ReturnedFile[]; links: FileLink[] } | null>(
    null,
  );
  useEffect(() => {
    if (!files || files.length === 0) {
      setMade(null);
      return;
    }
    const links = files.map((file): FileLink => {
      if (file.content === null) return { state: "omitted" };
      const bytes = decodeBase64(file.content);
      if (!bytes) return { state: "unreadable" };
      const blob = new Blob([bytes], { type: blobType(file.path) });
      return { state: "ready", url: URL.createObjectURL(blob) };
    });
    setMade({ files, links });
    return () => {
      for (const link of links) if (link.state === "ready") URL.revokeObjectURL(link.url);
    };
  }, [files]);
  if (!files) return [];
  // Until this render's files have their URLs, none of the previous (revoked) ones is shown.
  if (made?.files === files) return made.links;
  return files.map((file) =>
    file.content === null ? { state: "omitted" } : { state: "preparing" },
  );
}
