export { WechatSim } from './wechat-sim';
export type { Fault, MpEndpoint, OAuthEndpoint, QrcodeEndpoint, SimEndpoint, SimOptions } from './types';
export type { QrcodeAction, QrcodeRecord } from './qrcode';
export type { TicketType, TokenState } from './mp';
export { simOpenid, simUnionid, type OAuthAppType, type OAuthScope, type SimUser } from './oauth';
export { beijingDay, nextBeijingMidnight } from './clock';
export { jsapiSignature, jsapiString1 } from './jsapi';
export { TencentCloudSim, type TencentCloudSimOptions } from './tencentcloud';
export { AwsSecretsSim, type AwsSecretsSimOptions } from './aws-secrets';
