/**
 * `GET /sessions/{id}/files/{path}`: the bytes of a file in a session's working directory, as
 * a program wrote it or as a request sent it, with headers that keep a browser from running it;
 * never a file outside that directory, however the path or a link tries to get there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { hasBwrap } from "../packages/helpers";
import { problemOf, SessionApi } from "./api";

/** The most bytes a file read may send (the handler's `maxFileBytes`). */
const MAX_FILE_BYTES = 64 * 1024;
const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");

export function sessionFileCases(startup: "spawn" | "zygote"): void {
  describe.skipIf(!hasBwrap)(`a session's files (${startup})`, { timeout: 30_000 }, () => {
    const handler = createHandler({
      sandbox: "required",
      startup,
      logger: false,
      maxFileBytes: MAX_FILE_BYTES,
    });
    const api = new SessionApi(handler);
    let id = "";

    beforeAll(async () => {
      id = await api.open({
        files: [
          { path: "data/input.csv", content: "a,b\n1,2\n" },
          { path: "helpers.py", content: "def answer():\n    return 42\n" },
          // Written as the session opens, before its limits hold: over the most a read sends.
          { path: "big.txt", content: "z".repeat(MAX_FILE_BYTES + 1) },
        ],
      });
      await api.ok(id, {
        code: [
          "import os",
          "os.makedirs('out/deep', exist_ok=True)",
          "open('out/result.csv', 'w').write('name,score\\nada,3\\n')",
          "open('out/deep/data.bin', 'wb').write(bytes(range(256)) * 3)",
          `open('plot.png', 'wb').write(bytes.fromhex('${PNG.toString("hex")}'))`,
          "open('page.html', 'w').write('<script>alert(1)</script>')",
          "open('summary.json', 'w').write('{\"ok\": true}')",
          "open('unicode é.txt', 'w', encoding='utf-8').write('naïve ✓')",
          `open('limit.txt', 'w').write('z' * ${MAX_FILE_BYTES})`,
          "os.symlink('/etc/passwd', 'passwd.txt')",
          "os.symlink('/etc', 'etc')",
          "os.symlink('out/result.csv', 'inside.csv')",
          "os.mkfifo('pipe.txt')",
        ].join("\n"),
      });
    });
    afterAll(async () => {
      await api.delete(id);
      await handler.close();
    });

    async function expectBytes(path: string, bytes: Buffer, type: string): Promise<Response> {
      const response = await api.file(id, path);
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get("content-type")).toBe(type);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("content-length")).toBe(String(bytes.length));
      expect(Buffer.from(await response.clone().arrayBuffer())).toEqual(bytes);
      return response;
    }

    async function expectProblem(path: string, status: number, code: string): Promise<string> {
      const response = await api.file(id, path);
      expect(response.status).toBe(status);
      const body = await response.clone().text();
      expect(body).not.toContain("root:");
      expect((await problemOf(response)).code).toBe(code);
      return body;
    }

    it("sends a text file a run wrote, byte for byte, typed and not sniffed", async () => {
      const response = await expectBytes(
        "out/result.csv",
        Buffer.from("name,score\nada,3\n"),
        "text/csv; charset=utf-8",
      );
      expect(response.headers.get("content-disposition")).toBe(
        "attachment; filename*=UTF-8''result.csv",
      );
      await expectBytes("summary.json", Buffer.from('{"ok": true}'), "application/json");
      await expectBytes(
        "unicode%20%C3%A9.txt",
        Buffer.from("naïve ✓"),
        "text/plain; charset=utf-8",
      );
    });

    it("sends binary files exactly, and an image inline", async () => {
      await expectBytes(
        "out/deep/data.bin",
        Buffer.concat([0, 1, 2].map(() => Buffer.from(Array.from({ length: 256 }, (_, i) => i)))),
        "application/octet-stream",
      );
      const png = await expectBytes("plot.png", PNG, "image/png");
      expect(png.headers.get("content-disposition")).toMatch(/^inline;/);
    });

    it("never serves what a program wrote as a page of the server's origin", async () => {
      const response = await expectBytes(
        "page.html",
        Buffer.from("<script>alert(1)</script>"),
        "application/octet-stream",
      );
      expect(response.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(response.headers.get("content-security-policy")).toContain("sandbox");
    });

    it("sees the files sent when the session opened and with a run, from code and over HTTP", async () => {
      await expectBytes("data/input.csv", Buffer.from("a,b\n1,2\n"), "text/csv; charset=utf-8");
      const read = await api.ok(
        id,
        "import helpers\nprint(helpers.answer(), open('data/input.csv').read())",
      );
      expect(read.stdout).toBe("42 a,b\n1,2\n\n");
      await api.ok(id, {
        code: "print(open('sent/by/run.txt').read())",
        files: [{ path: "sent/by/run.txt", content: "from the run" }],
      });
      await expectBytes(
        "sent/by/run.txt",
        Buffer.from("from the run"),
        "text/plain; charset=utf-8",
      );
      // A file a later run changes is read as it is now.
      await api.ok(id, "open('sent/by/run.txt', 'a').write(' and after')");
      await expectBytes(
        "sent/by/run.txt",
        Buffer.from("from the run and after"),
        "text/plain; charset=utf-8",
      );
    });

    it("answers 404 for a missing file, a directory and what is not a regular file", async () => {
      await expectProblem("missing.txt", 404, "not_found");
      await expectProblem("out/missing/deeper.csv", 404, "not_found");
      await expectProblem("out", 404, "not_found");
      await expectProblem("out/deep", 404, "not_found");
      await expectProblem("pipe.txt", 404, "not_found");
    });

    it("follows no symbolic link, in the working directory or out of it", async () => {
      await expectProblem("passwd.txt", 404, "not_found");
      await expectProblem("etc/passwd", 404, "not_found");
      await expectProblem("etc/hostname", 404, "not_found");
      await expectProblem("inside.csv", 404, "not_found");
    });

    it("answers 400 for a path that climbs out or is absolute, however it is written", async () => {
      for (const path of [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2Fpasswd",
        "out%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "out/%2e%2e%2f%2e%2e%2fpasswd",
        // A trailing "/" names a folder, never the file before it.
        "summary.json/",
        "summary.json//",
      ]) {
        const body = await expectProblem(path, 400, "invalid_request");
        expect(body, path).toMatch(/path/);
      }
    });

    it("answers 413 for a file over the size limit, and sends one at it", async () => {
      const problem = await expectProblem("big.txt", 413, "payload_too_large");
      expect(problem).toContain(String(MAX_FILE_BYTES + 1));
      const response = await api.file(id, "limit.txt");
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(MAX_FILE_BYTES);
      // A program cannot write one past it.
      const over = await api.run(
        id,
        `with open('over.txt', 'w') as f:\n    f.write('z' * ${MAX_FILE_BYTES + 1})`,
      );
      expect(over.status).toBe("failed");
      expect(over.error?.message).toContain("File too large");
    });

    it("reads a file while a run is waiting for input", async () => {
      const stream = await api.stream(id, "answer = input('? ')");
      await stream.untilInput();
      await expectBytes(
        "out/result.csv",
        Buffer.from("name,score\nada,3\n"),
        "text/csv; charset=utf-8",
      );
      await stream.writeStdin("done\n", true);
      expect((await stream.finished()).status).toBe("succeeded");
    });
  });
}
