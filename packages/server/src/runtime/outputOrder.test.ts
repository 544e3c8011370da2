import type { Display } from "@mecha/protocol";
import { describe, expect, it } from "vitest";
import { type OrderedEnd, OutputOrder, type Stream } from "./outputOrder";

const MARKER = "abc123";
const mark = (n: number) => Buffer.from(`\x1bMECHA${MARKER}#${n}\x07`, "latin1");
const display = { data: { "text/plain": "30000" } } as unknown as Display;

/** An OutputOrder writing what goes out, in order, into `out`. */
function ordered() {
  const out: string[] = [];
  const order = new OutputOrder(MARKER, {
    text: (stream: Stream, chunk: Buffer) => {
      out.push(`${stream}:${chunk.toString()}`);
      return true;
    },
    display: () => {
      out.push("display");
      return true;
    },
    fits: () => true,
    end: (end: OrderedEnd) => {
      out.push(`end ${end.cell}`);
    },
  });
  const end = (n: number): OrderedEnd => ({
    n,
    marks: ["stdout", "stderr"],
    cell: 1,
    status: 1,
    interrupted: true,
  });
  return { order, out, end };
}

describe("OutputOrder", () => {
  it("puts a display between the output before and after its markers", () => {
    const { order, out } = ordered();
    order.push("stdout", Buffer.concat([Buffer.from("a"), mark(1), Buffer.from("b")]));
    order.push("stderr", mark(1));
    expect(out).toEqual(["stdout:a"]);
    order.display({ n: 1, marks: ["stdout", "stderr"], display });
    expect(out).toEqual(["stdout:a", "display", "stdout:b"]);
  });

  it("lets output flow past the markers of a display that never came once a later entry has", () => {
    // A session's cell interrupted between writing a display's markers and sending it: its
    // end (entry 2) comes, display 1 never will.
    const { order, out, end } = ordered();
    order.push("stdout", Buffer.concat([Buffer.from("x"), mark(1)]));
    order.push("stderr", mark(1));
    order.push("stderr", Buffer.concat([Buffer.from("KeyboardInterrupt\n"), mark(2)]));
    order.display(end(2));
    order.push("stdout", mark(2));
    expect(out).toEqual(["stdout:x", "stderr:KeyboardInterrupt\n", "end 1"]);
  });

  it("still holds output at a marker whose display may yet come", () => {
    const { order, out } = ordered();
    order.push("stdout", Buffer.concat([mark(2), Buffer.from("after")]));
    order.display({ n: 1, marks: [], display });
    expect(out).toEqual(["display"]);
  });

  it("lets go of output held at a marker whose display will not come, and holds at the next", () => {
    // A forged marker, ahead of any display the program will send: nothing releases it but
    // the owner letting go, and what was held comes out in the order it arrived.
    const { order, out } = ordered();
    order.push("stdout", Buffer.concat([Buffer.from("a"), mark(999999), Buffer.from("b")]));
    order.push("stdout", Buffer.from("c"));
    expect(order.holding).toBe(2);
    order.letGo();
    expect(out).toEqual(["stdout:a", "stdout:b", "stdout:c"]);
    expect(order.holding).toBe(0);
    order.push("stdout", Buffer.concat([mark(3), Buffer.from("d")]));
    expect(out).toHaveLength(3);
    order.display({ n: 3, marks: ["stdout"], display });
    expect(out.slice(3)).toEqual(["display", "stdout:d"]);
  });

  it("sends a display that comes after its held output was let go, and what follows it", () => {
    // A background thread's display between runs, its event late behind more output than the
    // session holds: its place in the streams is lost, the display and the run's end are not.
    const { order, out, end } = ordered();
    order.push("stdout", Buffer.concat([mark(1), Buffer.from("late")]));
    order.push("stderr", mark(1));
    order.letGo();
    expect(out).toEqual(["stdout:late"]);
    order.display({ n: 1, marks: ["stdout", "stderr"], display });
    order.push("stdout", mark(2));
    order.push("stderr", mark(2));
    order.display(end(2));
    expect(out).toEqual(["stdout:late", "display", "end 1"]);
  });
});
