// For sealed-model tests: finds where any of some byte strings occurs in any file under some
// directories (every byte of every file, recursively, symlinks not followed).
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Pieces of `secret` to look for: `count` windows of `size` bytes spread over its second half (past headers). */
export function secretWindows(secret: Uint8Array, count = 4, size = 24): Buffer[] {
  const b = Buffer.from(secret);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const at = Math.floor(b.length / 2 + ((b.length / 2 - size) * i) / Math.max(1, count - 1));
    out.push(b.subarray(at, at + size));
  }
  return out;
}

/** "path (window i at byte n)" for every occurrence of a needle in a file under `dirs`; [] when none. */
export function findBytes(dirs: readonly string[], needles: readonly Buffer[]): { files: number; hits: string[] } {
  const hits: string[] = [];
  let files = 0;
  const walk = (p: string) => {
    let st;
    try { st = lstatSync(p); } catch { return; }
    if (st.isDirectory()) { for (const n of readdirSync(p)) walk(join(p, n)); return; }
    if (!st.isFile()) return;
    files++;
    const data = readFileSync(p);
    needles.forEach((n, i) => {
      const at = data.indexOf(n);
      if (at >= 0) hits.push(`${p} (window ${i} at byte ${at})`);
    });
  };
  for (const d of dirs) walk(d);
  return { files, hits };
}
