// Test instrumentation, never loaded by the product: with `--expose-gc --import <this file>`, SIGUSR2
// makes the process run a full garbage collection, so a test can read what the process still holds
// after a burst without waiting for V8 to schedule one (memory-burst.test.ts).
process.on('SIGUSR2', () => {
  globalThis.gc?.();
});
