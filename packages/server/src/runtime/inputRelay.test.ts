import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InputRelay } from "./inputRelay";

describe("InputRelay", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("sends an event with no prompt at once, and one with a prompt once the prompt is out", () => {
    const sent: string[] = [];
    const relay = new InputRelay((prompt) => sent.push(prompt));
    relay.event("");
    expect(sent).toEqual([""]);
    relay.written(false);
    relay.event("Name? ");
    expect(sent).toEqual([""]);
    relay.stdout("Na");
    relay.stdout("me? ");
    expect(sent).toEqual(["", "Name? "]);
  });

  it("sends the same wait once until input is written, however often the program reports it", () => {
    const sent: string[] = [];
    const relay = new InputRelay((prompt) => sent.push(prompt));
    for (let i = 0; i < 1000; i++) relay.event("");
    expect(sent).toEqual([""]);
    relay.written(false);
    relay.event("");
    expect(sent).toEqual(["", ""]);
    // A different prompt is news, written input or not.
    relay.event("Age? ");
    relay.event("Age? ");
    vi.advanceTimersByTime(50);
    expect(sent).toEqual(["", "", "Age? "]);
  });

  it("sends nothing once standard input is closed, a prompt held back for its text included", () => {
    const sent: string[] = [];
    const relay = new InputRelay((prompt) => sent.push(prompt));
    relay.event("Name? ");
    relay.written(true);
    vi.advanceTimersByTime(50);
    relay.event("");
    relay.event("Again? ");
    relay.stdout("Again? ");
    vi.advanceTimersByTime(50);
    expect(sent).toEqual([]);
  });
});
