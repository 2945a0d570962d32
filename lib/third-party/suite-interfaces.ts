/**
 * Interfaces of WeCom third-party apps (suites): the install link a corp admin opens to authorize
 * the suite (docs/protocol.md §12.3); the authorized corps are then served by the work.* interfaces.
 */
import { assertRealmMayUse } from '../interfaces/apps';
import { ApiError } from '../interfaces/errors';
import { lifetime } from '../interfaces/mp';
import { optionalString, requiredString } from '../interfaces/para';
import type { InterfaceDef } from '../interfaces/types';

/** Where the install page is; WeCom's own host unless config.upstream.open says otherwise (the simulator). */
const INSTALL_BASE = 'https://open.work.weixin.qq.com';
/** WeCom: state is letters and digits, at most 128 bytes. */
const STATE = /^[A-Za-z0-9]{0,128}$/;

/**
 * `https://open.work.weixin.qq.com/3rdapp/install?suite_id&pre_auth_code&redirect_uri&state`, with
 * a pre-auth code shared while it lives (20 minutes, one fetch per refresh across instances).
 */
export const suiteInstallUrl: InterfaceDef = {
  name: 'work.suite.install_url',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const suiteId = requiredString(para, 'suite_id', 64);
    const suite = services.credentials.suites.suite(suiteId);
    if (!suite) throw new ApiError('unknown_app', `unknown suite ${suiteId.slice(0, 64)} (config.suites)`);
    assertRealmMayUse(realm, suite.suiteId, 'app');
    const redirect = requiredString(para, 'redirect_uri', 1024);
    let target: URL;
    try {
      target = new URL(redirect);
    } catch {
      throw new ApiError('bad_para', 'para.redirect_uri must be an absolute https URL');
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:')
      throw new ApiError('bad_para', 'para.redirect_uri must be an absolute https URL');
    const state = optionalString(para, 'state', 128) ?? '';
    if (!STATE.test(state)) throw new ApiError('bad_para', 'para.state must be at most 128 letters or digits');
    const code = await services.credentials.get(services.credentials.suites.preAuthCode(suite), { call });
    const url = new URL('/3rdapp/install', services.config.upstream.open ?? INSTALL_BASE);
    url.search = new URLSearchParams({
      suite_id: suite.suiteId,
      pre_auth_code: code.value,
      redirect_uri: redirect,
      state,
    }).toString();
    return { suite_id: suite.suiteId, url: url.toString(), ...lifetime(services, code) };
  },
};
