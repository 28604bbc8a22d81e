// Preloaded into every test file's process by scripts/test-run.mjs: a test file given as TypeScript
// (the bench helpers' tests, which tsc -b does not build) gets tsx and the `source` condition; a built
// test file (<pkg>/dist/**/*.test.js) runs on plain node, ~0.5 s of CPU less per file than through
// tsx's loader hooks (docs/development.md "Test run time").
if (process.argv[1]?.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
