/**
 * The interface table: canonical names and aliases → handler. A new interface is one entry here. docs/design.md §3.2.
 */
import { quotaClear, status } from './admin';
import { componentAuthorizers, componentAuthorizeUrl } from './component';
import { cosCredentials, cosSignInterface, cosSignOnce } from './cos';
import { accessToken, jsapiConfig, ticket } from './mp';
import { oauthAuthorizeUrl, oauthExchange } from './oauth';
import { query } from './query';
import { qrcodeCreate } from './qrcode';
import { sessionCheck, sessionDecrypt, sessionLogin, sessionUserInfo } from './session';
import { suiteInstallUrl } from '../third-party/suite-interfaces';
import type { InterfaceDef } from './types';
import { WORK_INTERFACES } from './work';

export const INTERFACES: readonly InterfaceDef[] = [
  accessToken,
  ticket,
  jsapiConfig,
  status,
  quotaClear,
  query,
  qrcodeCreate,
  oauthAuthorizeUrl,
  oauthExchange,
  sessionLogin,
  sessionCheck,
  sessionDecrypt,
  sessionUserInfo,
  cosCredentials,
  cosSignInterface,
  cosSignOnce,
  componentAuthorizeUrl,
  componentAuthorizers,
  ...WORK_INTERFACES,
  suiteInstallUrl,
];

const byName = new Map<string, InterfaceDef>();
for (const def of INTERFACES) for (const name of [def.name, ...(def.aliases ?? [])]) byName.set(name, def);

export function findInterface(name: string): InterfaceDef | undefined {
  return byName.get(name);
}

export { ApiError, toApiError, RETURN_CODES, type ErrorName } from './errors';
export { wxConfig } from './mp';
export { resolveApp } from './apps';
export type { InterfaceDef, InterfaceContext, Services, Access } from './types';
