/**
 * The names a realm's `interfaces` may list: each canonical interface name and the Wafer names
 * that mean it there. Data only, so the config can check realms without importing the interface
 * table; lib/interfaces/names.test.ts holds that table to this list. See docs/design.md §3.5.
 */
export const REALM_INTERFACE_NAMES: Readonly<Record<string, readonly string[]>> = {
  access_token: ['qcloud.mimi.access_token'],
  ticket: [],
  'jsapi.config': [],
  status: [],
  'quota.clear': [],
  query: [],
  'qrcode.create': [],
  'oauth.authorize_url': [],
  'oauth.exchange': [],
  'session.login': ['qcloud.cam.id_skey'],
  'session.check': ['qcloud.cam.auth'],
  'session.decrypt': ['qcloud.cam.decrypt', 'qcloud.cam.userinfo'],
  'cos.credentials': [],
  'cos.sign': ['qcloud.cos.auth.reusable', 'qcloud.cos.auth.nonreusable'],
  'work.access_token': ['qcloud.work.access_token'],
  'work.ticket': ['qcloud.work.ticket'],
  'work.agent_ticket': ['qcloud.work.agent.ticket'],
  'work.jsapi.config': [],
  'work.register_agent': ['qcloud.work.initagent'],
  'component.authorize_url': [],
  'component.authorizers': [],
  'work.suite.install_url': [],
};

/** The canonical name `name` stands for in a realm's `interfaces`, or undefined when it names none. */
export function canonicalInterface(name: string): string | undefined {
  if (Object.hasOwn(REALM_INTERFACE_NAMES, name)) return name;
  return Object.keys(REALM_INTERFACE_NAMES).find((canonical) => REALM_INTERFACE_NAMES[canonical]!.includes(name));
}
