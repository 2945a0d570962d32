export { WechatSim } from './wechat-sim';
export type { Fault, MpEndpoint, SimEndpoint, SimOptions } from './types';
export type { TicketType, TokenState } from './mp';
export { beijingDay, nextBeijingMidnight } from './clock';
export { jsapiSignature, jsapiString1 } from './jsapi';
export { TencentCloudSim, type TencentCloudSimOptions } from './tencentcloud';
export { AwsSecretsSim, type AwsSecretsSimOptions } from './aws-secrets';
