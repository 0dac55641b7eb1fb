import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { printedSchema, SCHEMA_FILE } from '../../src/graphql/print-schema.js';

describe('schema/schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema` after changing GraphQL types)', async () => {
    const committed = await readFile(SCHEMA_FILE, 'utf8');
    expect(committed).toBe(printedSchema());
  });

  it('keeps the contract names', () => {
    const sdl = printedSchema();
    for (const name of [
      'interface Node',
      'createApiToken(input: CreateApiTokenInput!): CreateApiTokenPayload!',
      'createTeam(name: String!): Team!',
      'node(id: ID!): Node',
      'scalar DateTime',
      'scalar JSON',
      'enum Role',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
