import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { apiTokens, teams } from '../../schema/db/auth.js';
import { recordAudit } from '../audit/record.js';
import { roleEnum } from '../../schema/db/enums.js';
import { badInput, notFound, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { pageNewestFirst, RoleEnum } from '../graphql/common.js';
import type { Viewer } from '../graphql/context.js';
import { TeamRef } from '../teams/types.js';
import { insertToken } from './tokens.js';

/** A token as the API shows it: everything but the hash. */
const tokenColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  role: apiTokens.role,
  teamId: apiTokens.teamId,
  createdAt: apiTokens.createdAt,
  createdBy: apiTokens.createdBy,
  revokedAt: apiTokens.revokedAt,
};
type ApiTokenRow = Omit<typeof apiTokens.$inferSelect, 'tokenHash'>;

/** Tokens are an ADMIN matter: other viewers get null from `node(id)`. */
export const ApiTokenRef = builder.loadableNodeRef<ApiTokenRow>('ApiToken', {
  id: { resolve: (token) => token.id },
  load: async (ids: string[], ctx) => {
    if (ctx.viewer?.role !== 'ADMIN') return ids.map(() => null) as unknown as ApiTokenRow[];
    const rows = await ctx.services.db.select(tokenColumns).from(apiTokens).where(inArray(apiTokens.id, ids));
    return ids.map((id) => rows.find((r) => r.id === id) ?? null) as ApiTokenRow[];
  },
});

ApiTokenRef.implement({
  description: 'An API token. Its value is shown only once, by createApiToken; Hookline keeps only a hash.',
  authScopes: { admin: true },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    team: t.field({ type: TeamRef, nullable: true, resolve: (token) => token.teamId }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The token of the current request.',
  fields: (t) => ({
    tokenId: t.exposeID('tokenId'),
    name: t.exposeString('name'),
    role: t.expose('role', { type: RoleEnum }),
    team: t.field({ type: TeamRef, nullable: true, resolve: (viewer) => viewer.teamId }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who the request is authenticated as.',
    // Every operation is refused without a token (yoga.ts), so a viewer is always there.
    resolve: (_root, _args, ctx) => ctx.viewer!,
  }),
);

builder.queryField('apiTokens', (t) =>
  t.connection({
    type: ApiTokenRef,
    description: 'ADMIN: API tokens, newest first. Revoked ones only with includeRevoked.',
    authScopes: { admin: true },
    args: { includeRevoked: t.arg.boolean({ defaultValue: false, required: true }) },
    resolve: (_root, args, ctx) =>
      pageNewestFirst(args, ctx.services.config.HOOKLINE_MAX_PAGE_SIZE, apiTokens.id, (page) =>
        ctx.services.db
          .select(tokenColumns)
          .from(apiTokens)
          .where(and(args.includeRevoked ? undefined : isNull(apiTokens.revokedAt), page.where))
          .orderBy(page.orderBy)
          .limit(page.limit),
      ),
  }),
);

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.field({ type: RoleEnum, required: true }),
    teamId: t.id({ description: 'Required for EDITOR and VIEWER tokens; ADMIN tokens belong to no team.' }),
  }),
});

const tokenInput = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters'),
    role: z.enum(roleEnum.enumValues),
    teamId: z.string().nullish(),
  })
  .superRefine((input, ctx) => {
    if (input.role === 'ADMIN' && input.teamId) {
      ctx.addIssue({ code: 'custom', path: ['teamId'], message: 'ADMIN tokens belong to no team; leave teamId out' });
    }
    if (input.role !== 'ADMIN' && !input.teamId) {
      ctx.addIssue({ code: 'custom', path: ['teamId'], message: `${input.role} tokens need a team` });
    }
  });

const CreateApiTokenPayload = builder.objectRef<{ id: string; token: string }>('CreateApiTokenPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'The token itself: shown only this once.' }),
    apiToken: t.field({ type: ApiTokenRef, resolve: (payload) => payload.id }),
  }),
});

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreateApiTokenPayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = parseInput(tokenInput, args.input, 'input');
      const teamId = input.teamId ?? null;
      if (teamId) {
        const [team] = await ctx.services.db.select({ id: teams.id }).from(teams).where(eq(teams.id, teamId));
        if (!team) throw badInput('input.teamId', `no team with id "${teamId}"`);
      }
      return ctx.services.db.transaction(async (tx) => {
        const values = { name: input.name, role: input.role, teamId, createdBy: ctx.viewer!.name };
        const { id, token } = await insertToken(tx, values);
        // Teams and tokens are ADMIN matters: their entries belong to no team. The token's value is not kept.
        await recordAudit(tx, ctx.viewer, { action: 'token.create', target: { id, teamId: null }, after: { id, ...values } });
        return { id, token };
      });
    },
  }),
);

const RevokeApiTokenPayload = builder.objectRef<{ id: string }>('RevokeApiTokenPayload').implement({
  fields: (t) => ({ apiToken: t.field({ type: ApiTokenRef, resolve: (payload) => payload.id }) }),
});

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: RevokeApiTokenPayload,
    description:
      'ADMIN: the token stops working (within a few seconds: processes cache lookups briefly). The last active ADMIN token cannot be revoked.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      ctx.services.db.transaction(async (tx) => {
        const [token] = await tx
          .select({ role: apiTokens.role, revokedAt: apiTokens.revokedAt })
          .from(apiTokens)
          .where(eq(apiTokens.id, args.id));
        if (!token) throw notFound('id', args.id);
        if (token.revokedAt) return { id: args.id };
        if (token.role === 'ADMIN') {
          /*
           * Never lock everyone out: lock every active ADMIN row (in id order, so two concurrent revocations
           * cannot deadlock) and refuse when this is the only one left. A concurrent revocation that committed
           * first has already dropped out of this set when the locks are granted.
           */
          const admins = await tx
            .select({ id: apiTokens.id })
            .from(apiTokens)
            .where(and(eq(apiTokens.role, 'ADMIN'), isNull(apiTokens.revokedAt)))
            .orderBy(asc(apiTokens.id))
            .for('update');
          if (admins.length === 1 && admins[0].id === args.id) {
            throw badInput('id', 'this is the last active ADMIN token; create another ADMIN token before revoking it');
          }
        }
        const revokedAt = new Date();
        await tx
          .update(apiTokens)
          .set({ revokedAt })
          .where(and(eq(apiTokens.id, args.id), isNull(apiTokens.revokedAt)));
        const target = { id: args.id, teamId: null };
        await recordAudit(tx, ctx.viewer, { action: 'token.revoke', target, before: { revokedAt: null }, after: { revokedAt } });
        return { id: args.id };
      }),
  }),
);
