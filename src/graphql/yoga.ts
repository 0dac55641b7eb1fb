import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { AppError } from '../errors.js';
import { createContext, type Context, type Services } from './context.js';
import { schema } from './index.js';

export type Yoga = YogaServerInstance<Record<string, unknown>, Context>;

const unauthenticated = () =>
  new AppError('UNAUTHENTICATED', 'a valid API token is required (Authorization: Bearer <token>)');

/** Every operation needs a token, even `{ __typename }`: refused before anything runs. */
const requireToken: Plugin<Context> = {
  onExecute({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as Context).viewer) setResultAndStopExecution({ errors: [unauthenticated()] });
  },
  onSubscribe({ args, setResultAndStopExecution }) {
    if (!(args.contextValue as Context).viewer) setResultAndStopExecution({ errors: [unauthenticated()] });
  },
};

export function createGraphqlServer(services: Services): Yoga {
  const { config, logger } = services;
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Hookline GraphiQL' },
    // Anything that is not an AppError (a GraphQLError) is masked as "Unexpected error." and logged.
    maskedErrors: true,
    logging: {
      debug: (...args) => logger.debug({ yoga: args }),
      info: (...args) => logger.info({ yoga: args }),
      warn: (...args) => logger.warn({ yoga: args }),
      error: (...args) => logger.error({ yoga: args }),
    },
    // For HTTP the request's header; for graphql-ws the connectionParams (see ws.ts).
    context: ({ request, connectionParams }: { request?: Request; connectionParams?: Record<string, unknown> }) =>
      createContext(
        services,
        connectionParams ? String(connectionParams.authorization ?? '') : request?.headers.get('authorization'),
      ),
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: config.HOOKLINE_MAX_DEPTH, ignoreIntrospection: true, flattenFragments: true },
        maxAliases: { n: config.HOOKLINE_MAX_ALIASES },
        maxTokens: { n: config.HOOKLINE_MAX_TOKENS },
        // The default (5000) rejects an ordinary nested Relay page; sized for the console's largest query.
        costLimit: { maxCost: config.HOOKLINE_MAX_COST, ignoreIntrospection: true },
        maxDirectives: { n: 50 },
        blockFieldSuggestion: { enabled: false },
      }),
      requireToken,
    ],
  });
}
