import { it } from "vitest";
import { createHandler } from "../../src/createHandler";
import { run } from "./helpers";
import { forkedAllocation } from "./programs";

it("scratch", async () => {
  const handler = createHandler({ sandbox: "required", logger: false, maxConcurrent: 20 });
  const code = `
import os, errno
chunk = b'\\0' * (1 << 20)
for where in ('/', '/dev', '/dev/shm', '/etc'):
    total = 0; n = 0; err = None
    while err is None and total < (1 << 30):
        try:
            with open(os.path.join(where, 'fill-%d' % n), 'wb', buffering=0) as f:
                for _ in range(8):
                    total += f.write(chunk)
        except OSError as e:
            err = errno.errorcode.get(e.errno)
        n += 1
    print('FILL', where, total, err, flush=True)
    for i in range(n):
        try: os.unlink(os.path.join(where, 'fill-%d' % i))
        except OSError: pass
`;
  const r = await run(handler, { code, limits: { timeoutMs: 20000, memoryMb: 256 } });
  console.log(JSON.stringify(r, null, 1));
  const r2 = await run(handler, {
    code: forkedAllocation("mecha-x-123"),
    limits: { timeoutMs: 5000, memoryMb: 128 },
  });
  console.log(JSON.stringify(r2, null, 1));
  await handler.close();
}, 60000);
