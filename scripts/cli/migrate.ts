/**
 * `wecred migrate` (and `npm run db:migrate`): brings the store named by WECRED_STORE (or the
 * config's `store`) to the schema this wecred needs (db/mysql/, db/dynamodb/table.json); safe
 * to rerun, and from several machines at once. Never prints the URL. docs/design.md §6.3.
 */
import { loadConfig } from '../../lib/config/load';
import { SECRET_SOURCES } from '../../lib/wechat/secret-sources';

export async function migrateStore(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const url = env.WECRED_STORE || (await loadConfig(env, process.cwd(), SECRET_SOURCES))?.store;
  if (!url) throw new Error('set WECRED_STORE (e.g. mysql://user:pass@host:3306/wecred) or a config with "store"');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'mysql': {
      const { migrateMysql } = await import('../../lib/store/mysql-migrate');
      const r = await migrateMysql(url);
      return (
        `MySQL database ${r.database}: schema version ${r.version}` +
        (r.applied.length ? `, applied ${r.applied.join(', ')}` : ', already up to date')
      );
    }
    case 'dynamodb': {
      const { migrateDynamo } = await import('../../lib/store/dynamodb-migrate');
      const r = await migrateDynamo(url);
      return `DynamoDB table ${r.table}: ${r.created ? 'created' : 'already exists'}`;
    }
    default:
      return `store "${scheme ?? '?'}:" keeps no schema: nothing to migrate`;
  }
}
