/** The parts of co-wechat-api and wechat-api (which ship no types) that the examples use. */
declare module 'co-wechat-api' {
  namespace API {
    /** The token both SDKs keep: getToken's answer. */
    interface Token {
      accessToken: string;
      /** Epoch ms. */
      expireTime: number;
    }
  }
  type Token = API.Token;
  class API {
    constructor(
      appid: string,
      appsecret: string,
      getToken?: () => Promise<Token | null>,
      saveToken?: (token: Token | null) => Promise<void>,
      tokenFromCustom?: boolean,
    );
    /** `https://api.weixin.qq.com/cgi-bin/` */
    prefix: string;
    createTmpQRCode(
      sceneId: number | string,
      expire: number,
    ): Promise<{ ticket: string; expire_seconds: number; url: string }>;
  }
  export = API;
}

declare module 'wechat-api' {
  type Callback<T> = (err: (Error & { code?: number }) | null, data?: T, res?: unknown) => void;
  type Token = import('co-wechat-api').Token;
  class API {
    constructor(
      appid: string,
      appsecret: string,
      getToken?: (callback: Callback<Token>) => void,
      saveToken?: (token: Token, callback: (err: Error | null) => void) => void,
    );
    /** `https://api.weixin.qq.com` */
    endpoint: string;
    request(url: string, opts: object, callback: Callback<{ errcode?: number }>): void;
    createTmpQRCode(
      sceneId: number | string,
      expire: number,
      callback: Callback<{ ticket: string; expire_seconds: number; url: string }>,
    ): void;
  }
  export = API;
}
