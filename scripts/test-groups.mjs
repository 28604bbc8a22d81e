// Which test files share a process (docs/development.md "Test run time";
// docs/decisions/0145-short-test-files-share-a-process.md). Each node:test run() of a file is a process
// of its own, and starting one (node, the modules the file imports, their schemas) costs ~0.5 s of CPU
// before its first test: more than the tests of half the files take. Files that cannot disturb one
// another run `size` at a time in one process instead, by a module that imports them one after the
// other; node:test still names each test's own file in what it reports.
// A file shares a process only when nothing in it is the whole process's: no hook at its top level (a
// top-level before/after/beforeEach/afterEach is the process's root's, and would run around the other
// files' tests too), no backends() (its hooks attach to the run's database cluster, or start one, at the
// top level; forEachBackend's are its `postgres` describe's: hub/src/testing/backends.ts), no
// statement at the top level on `process` or `mock`; a file under test/src (the scenarios: whole
// programs, long) or listed in test-order.mjs (long, waiting or deadline-bound: scheduled one by one)
// runs alone, as does a file that says `// test-run: own process`.

const TOP_LEVEL_OWNED = /^(?:before|after|beforeEach|afterEach)\(|\bbackends\(|^(?:process|mock)\./m;
const OWN_PROCESS = '// test-run: own process';

/**
 * Whether the test file at `path` (relative to the repo root, `<pkg>/src/x.test.ts`), whose source is
 * `text`, may share a process with others; `listed` the files test-order.mjs schedules one by one.
 */
export function mayShare(path, text, listed) {
  const p = path.split('\\').join('/');
  if (!/^[^/]+\/src\//.test(p) || p.startsWith('test/')) return false;
  if (listed.has(p)) return false;
  return !TOP_LEVEL_OWNED.test(text) && !text.includes(OWN_PROCESS);
}

/**
 * The units to run, in order: `files` (in start order) where a file runs alone, and arrays of up to
 * `size` files that share a process, placed where their first file was. `share(file)` says which may.
 */
export function groupFiles(files, share, size) {
  const units = [];
  let open = null;
  for (const f of files) {
    if (!share(f)) {
      units.push(f);
      continue;
    }
    if (open === null || open.length >= size) {
      open = [];
      units.push(open);
    }
    open.push(f);
  }
  return units;
}

/** The module that runs `urls` (file: URLs of built test files) in one process, one after the other. */
export function groupModule(urls) {
  return `${urls.map((u) => `await import(${JSON.stringify(u)});`).join('\n')}\n`;
}
