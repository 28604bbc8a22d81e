// docs/agent.md "Remote configuration" against the code: its table of remote settings (live or restart)
// and its list of settings that are never remote are what shared/src/agent-settings.ts holds, so an app
// developer or operator reading the doc sets what a hub takes, and knows which need a restart.
// (The table once left out api.writeTimeoutMs, a restart setting the hub takes.)
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NEVER_REMOTE, REMOTE_SETTINGS } from '@edgefleet/shared';
import { repoRoot } from '@edgefleet/examples';

/** The text of one `## ` section of a markdown file. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/agent.md has a section "## ${heading}"`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/**
 * The setting names of a doc cell: `a.b.c`, then `d` for `a.b.d` (a bare name takes the prefix of the
 * last dotted one before it); text in parentheses is a comment, not names.
 */
function namesOf(cell: string): string[] {
  let prefix = '';
  const names: string[] = [];
  for (const [, name] of cell.replace(/\([^)]*\)/g, '').matchAll(/`([^`]+)`/g)) {
    if (name!.includes('.')) prefix = name!.slice(0, name!.lastIndexOf('.') + 1);
    names.push(name!.includes('.') ? name! : `${prefix}${name!}`);
  }
  return names;
}

describe('docs/agent.md "Remote configuration" holds the lists of shared/src/agent-settings.ts', () => {
  const text = section(readFileSync(join(repoRoot(), 'docs', 'agent.md'), 'utf8'), 'Remote configuration');

  it('reads a doc cell\'s names as the reader does', () => {
    assert.deepEqual(namesOf('`api.maxBodyBytes`, `maxConnections`, `api.grpc.maxConcurrentStreams`, `maxCalls`'),
      ['api.maxBodyBytes', 'api.maxConnections', 'api.grpc.maxConcurrentStreams', 'api.grpc.maxCalls']);
    assert.deepEqual(namesOf('`sync.removedKeepSec` (read at `each` removal)'), ['sync.removedKeepSec']);
  });

  it('the table names every remote setting, each applied as the code applies it, and nothing else', () => {
    const head = text.indexOf('| remote setting | applied |');
    assert.ok(head >= 0, 'the table of remote settings is there');
    const rows = text.slice(head).split('\n').slice(2);
    const documented: Record<string, string> = {};
    for (const row of rows) {
      if (!row.startsWith('|')) break;
      const [, names, apply] = row.split('|').map((c) => c.trim());
      for (const name of namesOf(names!)) {
        const matched = name.endsWith('.*') ? Object.keys(REMOTE_SETTINGS).filter((k) => k.startsWith(name.slice(0, -1))) : [name];
        assert.ok(matched.length > 0, `${name}: the doc's wildcard matches a remote setting`);
        for (const k of matched) documented[k] = apply!;
      }
    }
    assert.deepEqual(documented, { ...REMOTE_SETTINGS });
  });

  it('"Never remote" lists the settings a hub refuses as CONFIG_NOT_REMOTE, and only those', () => {
    const start = text.indexOf('**Never remote**');
    assert.ok(start >= 0, 'the never-remote paragraph is there');
    const paragraph = text.slice(start, text.indexOf('Credentials', start));
    const listed = namesOf(paragraph.slice(paragraph.indexOf(':'))).sort();
    assert.deepEqual(listed, Object.keys(NEVER_REMOTE).sort());
  });
});
