// The repository's Markdown documents link only to files inside the repository: a clone, a
// release tarball or a code host shows them without anything else beside it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is compiled to test/dist/docs/). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist', 'data', 'coverage', '.git']);

/** Every Markdown file of the repository, relative to its root. */
function markdownFiles(dir = REPO_ROOT): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRECTORIES.has(entry.name) && !entry.name.startsWith('.')) {
        found.push(...markdownFiles(join(dir, entry.name)));
      }
    } else if (entry.name.endsWith('.md')) {
      found.push(relative(REPO_ROOT, join(dir, entry.name)));
    }
  }
  return found.sort();
}

/** Targets of inline links `[text](target)` and reference definitions `[label]: target`. */
function linkTargets(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  const inline = [...withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)];
  const references = [...withoutCode.matchAll(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s|$)/gm)];
  return [...inline, ...references].map((match) => match[1] ?? '');
}

/** A link to a file of this repository: no scheme, not an anchor of the same page. */
function isRelativeFileLink(target: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#') && target !== '';
}

describe('documentation links', () => {
  const files = markdownFiles();

  it('finds the documents to check (README.md, examples/README.md, docs/*.md)', () => {
    for (const file of ['README.md', join('examples', 'README.md'), join('docs', 'cli.md')]) {
      assert.ok(files.includes(file), `${file} in ${files.join(', ')}`);
    }
  });

  it('every relative link of every Markdown file names an existing file inside the repository', () => {
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const target of linkTargets(text).filter(isRelativeFileLink)) {
        const path = decodeURIComponent(target.split('#')[0] ?? '');
        const absolute = resolve(REPO_ROOT, dirname(file), path);
        const inside = relative(REPO_ROOT, absolute);
        if (inside === '..' || inside.startsWith(`..${sep}`)) {
          problems.push(`${file}: ${target} leaves the repository`);
        } else if (!existsSync(absolute)) {
          problems.push(`${file}: ${target} does not exist`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
