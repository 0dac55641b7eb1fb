import { asc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { teams } from '../../schema/db/auth.js';
import { recordAudit } from '../audit/record.js';
import { badInput, parseInput } from '../errors.js';
import { builder } from '../graphql/builder.js';
import { newId } from '../ids.js';

export type TeamRow = typeof teams.$inferSelect;

/** Teams are visible to their own members and to ADMIN tokens. */
export const TeamRef = builder.loadableNodeRef<TeamRow>('Team', {
  id: { resolve: (team) => team.id },
  load: async (ids: string[], ctx) => {
    const rows = await ctx.services.db.select().from(teams).where(inArray(teams.id, ids));
    const visible = rows.filter((r) => ctx.viewer?.role === 'ADMIN' || ctx.viewer?.teamId === r.id);
    return ids.map((id) => visible.find((r) => r.id === id) ?? null) as TeamRow[];
  },
});

TeamRef.implement({
  authScopes: (team) => ({ team: team.id }),
  fields: (t) => ({
    name: t.exposeString('name'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('teams', (t) =>
  t.field({
    type: [TeamRef],
    description: 'ADMIN: every team; other tokens: their own.',
    resolve: (_root, _args, ctx) => {
      const viewer = ctx.viewer!;
      const query = ctx.services.db.select().from(teams);
      if (viewer.role === 'ADMIN') return query.orderBy(asc(teams.name));
      return viewer.teamId ? query.where(eq(teams.id, viewer.teamId)) : [];
    },
  }),
);

const teamName = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');

builder.mutationField('createTeam', (t) =>
  t.field({
    type: TeamRef,
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const name = parseInput(teamName, args.name, 'name');
      return ctx.services.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(teams)
          .values({ id: newId('Team'), name, createdBy: ctx.viewer!.name })
          .onConflictDoNothing({ target: teams.name })
          .returning();
        if (!row) throw badInput('name', `a team named "${name}" exists already`);
        // Teams and tokens are ADMIN matters: their entries belong to no team.
        await recordAudit(tx, ctx.viewer, { action: 'team.create', target: { id: row.id, teamId: null }, after: row });
        return row;
      });
    },
  }),
);
