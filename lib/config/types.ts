/** The validated configuration's types, as the schema (schema.ts) infers them. See docs/design.md §3.5. */
import type { Config } from './schema';

export type { Config };
export type AppConfig = Config['apps'][number];
/** mp: Official Account; mina: Mini Program; web: website app (网站应用, QR login only: no global access_token). */
export type AppType = AppConfig['type'];
export type TokenMode = AppConfig['tokenMode'];
export type WorkAppConfig = Config['work'][number];
export type RealmConfig = Config['realms'][number];
export type OAuthConfig = Config['oauth'];
export type UpstreamConfig = Config['upstream'];
export type CredentialsConfig = Config['credentials'];
export type SessionsConfig = Config['sessions'];
export type CosConfig = NonNullable<Config['cos']>;
export type CosScopeConfig = CosConfig['scopes'][number];
