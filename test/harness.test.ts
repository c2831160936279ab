import { describe, expect, inject, test } from 'vitest';
import { createTestDatabase } from './helpers/databases.js';

describe('test harness', () => {
  test('a source clone has the schema from sql/', async () => {
    const source = await createTestDatabase('source');
    const { rows } = await source.query<{ next: string }>('SELECT id AS next FROM id');
    expect(rows).toEqual([{ next: '1' }]);
    expect(inject('serverOrigin')).toBeTypeOf('string');
  });
});
