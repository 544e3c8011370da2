import { expect, it } from "vitest";
import { createHandler } from "../src/createHandler";

const post = (h: any, path: string, body: unknown) =>
  h(new Request(`http://x${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }));

it.each(["zygote", "spawn"] as const)("smoke %s", async (startup) => {
  const h = createHandler({ sandbox: "required", startup, logger: console });
  try {
    let t = performance.now();
    const created = await post(h, "/sessions", { language: "python", files: [{ path: "d.txt", content: "hi" }] });
    const s = await created.json();
    console.log(startup, "create", created.status, s, performance.now() - t);
    for (const code of ["x = 41\nimport math", "x + 1", "print(x); 1/0", "open('d.txt').read()", "open('o.txt','w').write('out')", "import time; time.sleep(20)"]) {
      t = performance.now();
      const r = await post(h, `/sessions/${s.id}/runs`, { code, limits: { timeoutMs: 1000 } });
      const b = await r.json();
      console.log(startup, JSON.stringify(code), r.status, b.status, b.stdout, b.stderr, b.displays?.map((d: any) => d.data["text/plain"]), b.session, b.error?.type, performance.now() - t);
    }
    const f = await h(new Request(`http://x/sessions/${s.id}/files/o.txt`));
    console.log("file", f.status, await f.text());
    const g = await h(new Request(`http://x/sessions/${s.id}`));
    console.log("get", await g.json());
    const d = await h(new Request(`http://x/sessions/${s.id}`, { method: "DELETE" }));
    console.log("delete", d.status);
    const r2 = await post(h, `/sessions/${s.id}/runs`, { code: "x" });
    console.log("after delete", r2.status, await r2.json());
    expect(created.status).toBe(201);
  } finally {
    await h.close();
  }
}, 60000);
