// The docs' links hold (docs/development.md "Conventions"): every markdown link of README.md and docs/**/*.md to a file
// of the repository names one that exists, and its `#anchor` a heading of that file (GitHub's slugs); every
// `docs/….md` a doc or a comment in the code cites exists. A moved file or a renamed heading fails here, not in
// a stranger's browser. Links to the web and to what a build or a run makes are not checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '@edgefleet/examples';

const root = repoRoot();
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.data', '.scratch', 'out', 'cache']);

function walk(dir: string, keep: (name: string) => boolean, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, keep, out);
    else if (keep(name)) out.push(relative(root, p));
  }
  return out;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes; a repeated one gets -1, -2…. */
export function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/<[^>]+>/g, '').replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

/** The anchors of a markdown text's headings (outside code fences). */
export function anchorsOf(text: string): Set<string> {
  const set = new Set<string>();
  const count = new Map<string, number>();
  let fence = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) { fence = !fence; continue; }
    const m = fence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const s = slug(m[1]!);
    const n = count.get(s) ?? 0;
    count.set(s, n + 1);
    set.add(n ? `${s}-${n}` : s);
  }
  return set;
}

/** The relative links of a markdown text, `[text](target)`, outside code fences, with their line numbers. */
export function linksOf(text: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  let fence = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) { fence = !fence; return; }
    if (fence) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^[a-z]+:/i.test(m[1]!)) out.push({ line: i + 1, target: m[1]! });
    }
  });
  return out;
}

const anchors = new Map<string, Set<string>>();
const anchorsOfFile = (file: string) => anchors.get(file) ?? anchors.set(file, anchorsOf(readFileSync(file, 'utf8'))).get(file)!;

describe('doc links', () => {
  it('the slugs and links are read as GitHub reads them', () => {
    assert.equal(slug('Retention passes (2026-12-05, load average 11–17 on the 2-core VM)'), 'retention-passes-2026-12-05-load-average-1117-on-the-2-core-vm');
    assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not one\n```\n### `x.ts` and y')], ['a', 'a-1', 'xts-and-y']);
    assert.deepEqual(linksOf('see [a](b.md#c), [w](https://x.org) `[no](d.md)`\n```\n[no](e.md)\n```\n[f](#g)'), [{ line: 1, target: 'b.md#c' }, { line: 5, target: '#g' }]);
  });

  it('every link of the README and the docs to a file of the repository, and its anchor, exists', () => {
    const docs = ['README.md', ...walk(join(root, 'docs'), (n) => n.endsWith('.md')).sort()];
    const broken: string[] = [];
    let checked = 0;
    for (const doc of docs) {
      for (const { line, target } of linksOf(readFileSync(join(root, doc), 'utf8'))) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path === '' ? join(root, doc) : resolve(root, dirname(doc), decodeURIComponent(path));
        checked++;
        if (!existsSync(file)) broken.push(`${doc}:${line}: ${target}: no such file`);
        else if (anchor && file.endsWith('.md') && !anchorsOfFile(file).has(anchor)) broken.push(`${doc}:${line}: ${target}: no heading with that anchor`);
      }
    }
    assert.ok(checked > 100, `only ${checked} links read: the reader is broken`);
    assert.deepEqual(broken, []);
  });

  it('every docs/….md a doc or a comment in the code names exists', () => {
    const files = ['README.md', ...walk(root, (n) => /\.(md|ts|tsx|mjs)$/.test(n))];
    const missing = new Set<string>();
    let checked = 0;
    for (const f of files) {
      for (const line of readFileSync(join(root, f), 'utf8').split('\n')) {
        // In code, comments only: a string may name a path inside a bundle (bundle.test.ts packs a notes file under docs).
        const from = f.endsWith('.md') ? 0 : /^\s*(\*|\/\*)/.test(line) ? 0 : line.indexOf('// ');
        if (from < 0) continue;
        for (const m of line.slice(from).matchAll(/(?<![\w/.-])docs\/(?:decisions\/)?[\w.-]+\.md\b/g)) {
          checked++;
          if (!existsSync(join(root, m[0]))) missing.add(`${f}: ${m[0]}`);
        }
      }
    }
    assert.ok(checked > 500, `only ${checked} citations read: the reader is broken`);
    assert.deepEqual([...missing], []);
  });
});
