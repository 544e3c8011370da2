// @vitest-environment node
import { describe, expect, it } from "vitest";
import { createFakeClient } from "../test/fakeClient";
import { createLastRunStore } from "./createLastRunStore";

describe("createLastRunStore", () => {
  it("keeps a run current until the client's status changes", () => {
    const client = createFakeClient({ status: "online" });
    const store = createLastRunStore(client);
    const unsubscribe = store.subscribe(() => {});
    store.set("mock");
    expect(store.get()).toEqual({ backend: "mock", status: "online", current: true });
    client.setStatus("online");
    expect(store.get()?.current).toBe(true);
    // Offline and back: the status matches again, but it changed after the run.
    client.setStatus("offline");
    client.setStatus("online");
    expect(store.get()).toEqual({ backend: "mock", status: "online", current: false });
    store.set("mock");
    expect(store.get()?.current).toBe(true);
    unsubscribe();
  });

  it("notices a change it was not listening for when someone listens again", () => {
    const client = createFakeClient({ status: "online" });
    const store = createLastRunStore(client);
    store.set("browser");
    client.setStatus("degraded");
    expect(store.get()?.current).toBe(true);
    store.subscribe(() => {})();
    expect(store.get()?.current).toBe(false);
  });

  it("follows the client only while someone listens", () => {
    const client = createFakeClient();
    let listening = 0;
    const subscribe = client.subscribe;
    client.subscribe = (listener) => {
      listening++;
      const unsubscribe = subscribe(listener);
      return () => {
        listening--;
        unsubscribe();
      };
    };
    const store = createLastRunStore(client);
    const a = store.subscribe(() => {});
    const b = store.subscribe(() => {});
    expect(listening).toBe(1);
    a();
    b();
    expect(listening).toBe(0);
  });
});
