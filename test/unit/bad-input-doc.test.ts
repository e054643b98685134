// docs/bad-input.md is printed from the bad-input table (test/integration/bad-input-cases.ts), so the doc and
// the tests cannot drift: this fails when the doc is out of date. UPDATE_BAD_INPUT_DOC=1 rewrites it.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CASES, renderBadInputDoc } from '../integration/bad-input-cases.js';
import { repoRoot } from '../support/shim.js';

describe('docs/bad-input.md', () => {
  it('lists every case of the table, as the table gives it', async () => {
    const docPath = join(repoRoot, 'docs/bad-input.md');
    const rendered = renderBadInputDoc();
    if (process.env.UPDATE_BAD_INPUT_DOC) await writeFile(docPath, rendered);
    expect(await readFile(docPath, 'utf8')).toBe(rendered);
  });

  it('holds at least 80 cases, each named once, each with its line', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(80);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
    // An empty line is an input shim takes: it must exit 0 and say why.
    for (const c of CASES) if (c.line === '') expect({ exitCode: c.exitCode, note: Boolean(c.note) }, c.name).toEqual({ exitCode: 0, note: true });
  });
});
