import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsageError } from '../core/errors.js';
import { openIndex, parseIndexSpec } from './registry.js';

test('parseIndexSpec: KIND:TARGET, a bare http(s) URL is OpenSearch, anything else a SQLite file', () => {
  assert.deepEqual(parseIndexSpec('sqlite:data/ingest.db'), { kind: 'sqlite', target: 'data/ingest.db' });
  assert.deepEqual(parseIndexSpec('opensearch:http://127.0.0.1:9200'), {
    kind: 'opensearch',
    target: 'http://127.0.0.1:9200',
  });
  assert.deepEqual(parseIndexSpec('http://127.0.0.1:9200'), {
    kind: 'opensearch',
    target: 'http://127.0.0.1:9200',
  });
  assert.deepEqual(parseIndexSpec('data/ingest.db'), { kind: 'sqlite', target: 'data/ingest.db' });
  assert.deepEqual(parseIndexSpec('/abs/x.db'), { kind: 'sqlite', target: '/abs/x.db' });
  assert.throws(() => parseIndexSpec('lance:x'), UsageError);
  assert.throws(() => parseIndexSpec('sqlite:'), UsageError);
});

test('openIndex: a sqlite spec opens a SQLite index, creating its folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pitlane-registry-'));
  try {
    const { index, description } = await openIndex(`sqlite:${join(dir, 'sub', 'i.db')}`, 4);
    assert.equal(index.dimension, 4);
    assert.equal(description, `SQLite ${join(dir, 'sub', 'i.db')}`);
    await index.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
