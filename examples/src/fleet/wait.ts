// The fleet library's waitFor is the test kit's (examples/src/testkit/wait.ts): one helper for
// every wait on a condition, in the fleet, its scenarios and the unit tests.
export { waitFor, type WaitOptions } from '../testkit/wait.js';
