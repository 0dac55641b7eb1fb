import { builder } from './builder.js';
// Each import below adds its feature's types and fields to the builder; order does not matter.
import './scalars.js';
import './common.js';
import '../auth/types.js';
import '../teams/types.js';
import '../webhooks/types.js';
import '../endpoints/types.js';
import '../triggers/types.js';
import '../events/types.js';
import '../deliveries/types.js';
import '../delivery/types.js';
import '../live/types.js';
import '../replay-jobs/types.js';
import '../audit/types.js';
import '../events/explain.types.js';
import '../delivery/preview.js';
import '../feed/types.js';

export const schema = builder.toSchema({ sortSchema: false });
