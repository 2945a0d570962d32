export { WechatSim } from './wechat-sim';
export type { SimOptions } from './types';
export { simOpenid, simUnionid } from './oauth';
export { jsapiSignature, jsapiString1 } from './jsapi';
export { TencentCloudSim } from './tencentcloud';
export { AwsSecretsSim } from './aws-secrets';
