import { describe, expect, it } from "vitest";
import { createEventChannel } from "./eventChannel";

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) values.push(value);
  return values;
}

describe("createEventChannel", () => {
  it("delivers values pushed before and after iteration starts, then ends on close", async () => {
    const channel = createEventChannel<number>();
    channel.push(1);
    const all = collect(channel);
    channel.push(2);
    channel.close();
    channel.push(3);
    expect(await all).toEqual([1, 2]);
  });

  it("replays from the start for every iteration", async () => {
    const channel = createEventChannel<string>();
    channel.push("a");
    channel.close();
    expect(await collect(channel)).toEqual(["a"]);
    expect(await collect(channel)).toEqual(["a"]);
  });

  it("throws the failure after the values that came before it", async () => {
    const channel = createEventChannel<number>();
    channel.push(1);
    channel.fail(new Error("lost"));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const value of channel) seen.push(value);
      })(),
    ).rejects.toThrow("lost");
    expect(seen).toEqual([1]);
  });

  it("lets a consumer stop early without ending the channel for others", async () => {
    const channel = createEventChannel<number>();
    channel.push(1);
    channel.push(2);
    for await (const _value of channel) break;
    channel.close();
    expect(await collect(channel)).toEqual([1, 2]);
  });
});
