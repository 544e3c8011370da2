// The client double lives with the client; the component tests here drive it the same way.
export {
  createFakeClient,
  deferred,
  type FakeClient,
  type FakeRun,
  type FakeScript,
} from "../../../client/test/fakeClient";
export {
  createFakeSessions,
  type FakeSession,
  type FakeSessions,
} from "../../../client/test/fakeSession";
