import { describe, expect, it } from "vitest";
import type { ClientRunEvent } from "../src/backend";
import { createSession } from "../src/session/index";
import { useRealServers } from "./realServers";

// createSession against a real @mecha/server on a real port, running real Python.
const { startServer, client } = useRealServers();

const shown = (value: string) => [{ data: { "text/plain": value } }];
/** The first session of a server starts its interpreters, which takes longer than a request. */
const patient = { timeoutMs: 15_000 };

describe("a session against a real @mecha/server", { timeout: 20_000 }, () => {
  it("keeps state, streams events, answers input(), reads files, and is gone once closed", async () => {
    const server = await startServer();
    const mecha = client(server.url, patient);
    const session = await createSession(mecha, {
      files: [{ path: "data.csv", content: "a,b\n1,2\n3,4\n" }],
    });
    expect(session.backend).toBe("server");
    expect(session.id).toMatch(/^ses_/);
    expect(Date.parse(session.expiresAt ?? "")).toBeGreaterThan(Date.now());

    const loaded = await session.run("import csv\nrows = list(csv.reader(open('data.csv')))");
    expect(loaded).toMatchObject({ status: "succeeded", backend: "server" });
    expect((await session.run("len(rows)")).displays).toEqual(shown("3"));

    const events: ClientRunEvent[] = [];
    const streamed = await session.run("print('rows:')\nrows[1]", {
      onEvent: (event) => events.push(event),
    });
    // print() writes its text and its newline apart, so the output may come in one event or two.
    const kinds = events.map((event) => event.type).filter((kind, i, all) => kind !== all[i - 1]);
    expect(kinds).toEqual(["started", "stdout", "display", "exit"]);
    expect(streamed).toMatchObject({ stdout: "rows:\n", displays: shown("['1', '2']") });

    const asking = session.start("name = input('Name? ')\nprint('hello', name)");
    const prompts: string[] = [];
    for await (const event of asking.events) {
      if (event.type === "input") {
        prompts.push(event.prompt);
        await asking.sendStdin("Ada\n");
      }
    }
    expect(prompts).toEqual(["Name? "]);
    expect(await asking.result).toMatchObject({ status: "succeeded", stdout: "Name? hello Ada\n" });

    const failed = await session.run("total = len(rows)\n1 / 0");
    expect(failed).toMatchObject({
      status: "failed",
      error: { type: "ZeroDivisionError", line: 2 },
    });
    expect((await session.run("f'{name}: {total}'")).displays).toEqual(shown("'Ada: 3'"));

    await session.run("open('out/bytes.bin', 'wb').write(bytes(range(256)))", {
      files: [{ path: "out/.keep", content: "" }],
    });
    const bytes = await session.files.get("out/bytes.bin");
    expect(bytes).toEqual(Uint8Array.from({ length: 256 }, (_, i) => i));
    expect(new TextDecoder().decode(await session.files.get("data.csv"))).toBe("a,b\n1,2\n3,4\n");
    const missing = await session.files.get("missing.txt").catch((error: unknown) => error);
    expect(missing).toMatchObject({
      name: "HttpError",
      status: 404,
      problem: { code: "not_found" },
    });

    await session.close();
    const after = await session.run("print(rows)").catch((error: unknown) => error);
    expect(after).toMatchObject({
      name: "HttpError",
      code: "http",
      status: 404,
      problem: { code: "not_found" },
    });
    // Closing one already gone is not an error.
    await expect(session.close()).resolves.toBeUndefined();
    expect((await mecha.checkHealth()).capacity.sessions).toBe(0);
  });

  it("cancels a session's run and keeps its state; a second run meanwhile is refused", async () => {
    const server = await startServer();
    const session = await createSession(client(server.url, patient));
    await session.run("kept = 41");
    // One write: a cancel can land between print()'s writes of the text and of its newline
    // (CPython takes the interrupt there), and the output is then "spinning" alone.
    const spinning = session.start(
      "import sys\nsys.stdout.write('spinning\\n')\nsys.stdout.flush()\nwhile True:\n    pass",
    );
    for await (const event of spinning.events) {
      if (event.type === "stdout") break;
    }
    const busy = await session.run("kept").catch((error: unknown) => error);
    expect(busy).toMatchObject({ status: 409, problem: { code: "session_busy" } });
    await spinning.cancel();
    expect(await spinning.result).toMatchObject({ status: "cancelled", stdout: "spinning\n" });
    expect((await session.run("kept + 1")).displays).toEqual(shown("42"));
    await session.close();
  });
});
