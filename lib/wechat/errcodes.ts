/**
 * What WeChat's and WeCom's errcodes mean, in plain words for an operator, English and Mandarin
 * (docs/protocol.md §4.7, §5): the console and the alerts show them beside the errcode.
 */
export const ERRCODE_MEANINGS: Readonly<Record<number, readonly [en: string, zh: string]>> = {
  [-1]: ['WeChat was busy; it is asked again shortly', '微信系统繁忙，稍后会自动重试'],
  40001: [
    'the AppSecret is wrong (from a token endpoint), or the token was replaced',
    'AppSecret 错误（获取 token 时），或 token 已被替换',
  ],
  40002: ['invalid grant_type', 'grant_type 不合法'],
  40013: ['the AppID (or CorpID) is wrong', 'AppID（或 CorpID）不合法'],
  40014: ['the access_token is invalid', 'access_token 不合法'],
  40082: ["the suite's suite_access_token is invalid", 'suite_access_token 不合法'],
  40083: ['the suite id is wrong', 'suite_id 不合法'],
  40084: ["the corp's permanent code is invalid (authorization cancelled?)", '永久授权码不合法（企业可能已取消授权）'],
  40085: [
    "the suite_ticket is invalid or expired (WeCom's pushes are not arriving?)",
    'suite_ticket 不合法或已过期（回调推送可能未送达）',
  ],
  40091: ["the secret is another corp's or invalid", 'secret 不合法（可能属于其他企业）'],
  40125: ['the AppSecret is wrong', 'AppSecret 不合法'],
  40164: ["this server's IP is not on the app's IP allow-list", '调用接口的 IP 不在公众平台的 IP 白名单中'],
  40243: ['the AppSecret is frozen', 'AppSecret 已被冻结'],
  41002: ['the AppID (or CorpID) is missing', '缺少 AppID（或 CorpID）'],
  41004: ['the secret is missing', '缺少 secret'],
  42001: ['the access_token expired', 'access_token 已过期'],
  42009: ['the suite_access_token expired', 'suite_access_token 已过期'],
  45009: ["the API's quota is used up", '接口调用次数超过限制'],
  45011: ['too many calls this minute', '每分钟调用次数超过限制'],
  45033: ['too many concurrent calls', '接口并发调用超过限制'],
  48001: ['this API is not authorised for the app', '该接口未获授权'],
  48006: ["this month's 10 quota clears are used", '本月 10 次清零机会已用完'],
  50003: ['the WeCom app is disabled', '企业微信应用已被禁用'],
  60020: ["this server's IP is not on the WeCom app's trusted IP list", '调用接口的 IP 不在企业微信应用的可信 IP 中'],
  61004: ["this server's IP is not on the app's IP allow-list", '调用接口的 IP 不在 IP 白名单中'],
  89503: ['the calling IP waits for the admin to confirm it', '调用 IP 待管理员确认'],
  89506: ['the admin rejected the calling IP (for 24 hours)', '管理员拒绝了调用 IP（24 小时内）'],
  89507: ['the admin rejected the calling IP (for an hour)', '管理员拒绝了调用 IP（1 小时内）'],
};
