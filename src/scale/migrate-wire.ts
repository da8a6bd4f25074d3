/**
 * Turns on live migration (docs/scale-out.md, "Live migration") when several instances share a
 * database: every such instance receives moved calls (their hand-offs are in the database); with
 * MIGRATE_ON_DRAIN=true it also moves its own live calls away when it drains. Moving needs
 * Twilio REST credentials and the shared STREAM_TOKEN_SECRET (the target verifies the token this
 * instance issues); without them MIGRATE_ON_DRAIN is refused at start with the reason.
 */
import type { MigrationPort } from '../call/migration.js';

export type { MigrationPort } from '../call/migration.js';
import { TwilioMigration } from '../call/adapters/twilio-migrate.js';
import type { TwilioCallControl } from '../twilio/rest.js';
import { StreamTokens } from '../twilio/stream-token.js';
import type { Logger } from '../shared/log.js';
import { PgHandoffStore, SqliteHandoffStore, type HandoffStore } from './handoffs.js';
import type { ScaleOut, ScaleStores } from './wire.js';

export interface MigrationEnv {
  MIGRATE_ON_DRAIN?: boolean | undefined;
  STREAM_TOKEN_SECRET?: string | undefined;
}

/** Why MIGRATE_ON_DRAIN cannot work with this configuration, or undefined. */
export function migrationProblem(env: MigrationEnv, scale: ScaleOut | undefined, rest: TwilioCallControl | undefined): string | undefined {
  if (!env.MIGRATE_ON_DRAIN) return undefined;
  if (!scale) return 'MIGRATE_ON_DRAIN=true needs several instances on one database (DATABASE_URL, or a shared DATA_DIR with INSTANCE_ID/INSTANCE_URL/STREAM_TOKEN_SECRET)';
  if (!env.STREAM_TOKEN_SECRET) return 'MIGRATE_ON_DRAIN=true needs STREAM_TOKEN_SECRET, the same on every instance';
  if (!rest) return 'MIGRATE_ON_DRAIN=true needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the call update that redirects the call)';
  return undefined;
}

/** The call manager's migration port, or undefined when scale-out is off. Throws on a MIGRATE_ON_DRAIN misconfiguration. */
export function openMigration(
  env: MigrationEnv,
  d: { scale: ScaleOut | undefined; stores: ScaleStores; rest: TwilioCallControl | undefined; flush: () => Promise<void>; abort: (callSid: string, reason: string) => void; log: Logger },
): MigrationPort | undefined {
  const problem = migrationProblem(env, d.scale, d.rest);
  if (problem) throw new Error(problem);
  const scale = d.scale;
  if (!scale) return undefined;
  let handoffs: HandoffStore;
  if (d.stores.sqlite) handoffs = new SqliteHandoffStore(d.stores.sqlite.database);
  else if (d.stores.pool) handoffs = new PgHandoffStore(d.stores.pool);
  else return undefined;
  const log = d.log.child({ component: 'migration' });
  // Without MIGRATE_ON_DRAIN `move` is never called: REST and the token secret may be absent.
  const rest = d.rest as TwilioCallControl;
  return new TwilioMigration({
    onDrain: env.MIGRATE_ON_DRAIN === true,
    self: scale.instance,
    rest,
    tokens: new StreamTokens(env.STREAM_TOKEN_SECRET ? { secret: env.STREAM_TOKEN_SECRET } : {}),
    peers: () => scale.readyPeers(),
    store: {
      put: (h) => handoffs.put(h),
      take: (sid) => handoffs.take(sid),
      drop: (sid) => handoffs.drop(sid),
      giveTo: async (sid, instance) => (await scale.shared.takeOver(sid, instance)).ok,
    },
    flush: d.flush,
    abort: d.abort,
    log,
  });
}
