/** wecred-client: call a wecred credential server from Node ≥ 18 (wecred's README, "Use it from your SDK"). */
export { WecredClient, type WecredClientOptions } from './client.js';
export {
  CLIENT_CODES,
  type ClientErrorCode,
  isTokenRejected,
  TOKEN_REJECTED,
  WecredError,
  wechatErrcode,
} from './errors.js';
export * from './interfaces.js';
export { sign, type SignedHeaders, type SignInput } from './sign.js';
