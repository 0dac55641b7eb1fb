import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { AppError } from '../errors.js';
import { idType } from '../ids.js';
import type { Context } from './context.js';

/** The one schema builder: plugins and their options only; types live beside their features. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
  AuthScopes: {
    /** ADMIN: everything, across teams. */
    admin: boolean;
    /** ADMIN or EDITOR: may change things (in its own team). */
    write: boolean;
    /** May see an object owned by this team (null: owned by no team, visible to ADMIN only). */
    team: string | null;
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      admin: ctx.viewer?.role === 'ADMIN',
      write: ctx.viewer?.role === 'ADMIN' || ctx.viewer?.role === 'EDITOR',
      team: (teamId) => ctx.viewer?.role === 'ADMIN' || (teamId !== null && ctx.viewer?.teamId === teamId),
    }),
    unauthorizedError: (_parent, ctx, info) =>
      ctx.viewer
        ? new AppError('FORBIDDEN', `${info.fieldName}: this token's role (${ctx.viewer.role}) may not do this`)
        : new AppError('UNAUTHENTICATED', 'a valid API token is required (Authorization: Bearer <token>)'),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Ids are already global: each carries its type's prefix (wh_, ep_, …), so they are used as they are.
    encodeGlobalID: (_typename, id) => String(id),
    decodeGlobalID: (globalID) => ({ typename: typenameOf(globalID), id: globalID }),
    nodesQueryOptions: false,
    // An id that names no Node type (a typo, a feed token's id) finds nothing, like an id of no object.
    nodeQueryOptions: {
      resolve: (_root, args, _ctx, _info, resolveNode) => (args.id.typename === UNKNOWN ? null : resolveNode(args.id)),
    },
  },
});

/** Ids of objects that are not Nodes: feed tokens are reached only through their webhook. */
const NOT_NODES = new Set(['FeedToken']);
const UNKNOWN = 'Unknown';

function typenameOf(id: string): string {
  const type = idType(id);
  return type && !NOT_NODES.has(type) ? type : UNKNOWN;
}
