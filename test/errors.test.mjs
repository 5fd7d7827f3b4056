// Every error code is documented in docs/errors.md with the exit code the CLI really uses for it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES } from '../dist/core/errors.js';
import { exitCodeFor } from '../dist/cli/exit-codes.js';

test('docs/errors.md lists every error code with its exit code', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.keys(ERROR_CODES)) {
    const row = doc
      .split('\n')
      .map((l) => l.split('|').map((c) => c.trim()))
      .find((cells) => cells[1] === `\`${code}\``);
    assert.ok(row, `${code} is not documented`);
    assert.equal(Number(row[2]), exitCodeFor(code), `${code} exit code`);
  }
});
