/** Parametric QR codes (docs/protocol.md §2.7): the `qrcode.create` interface. */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config/types';
import { withAccessToken, type CallContext } from '../credentials';
import { classifyUpstream, UpstreamUnavailable, WechatError } from '../wechat/errors';
import { createQrcode, QRCODE_BOUNDS, SHOWQRCODE_BASE, showQrcodeUrl, type QrcodeRequest } from '../wechat/qrcode';
import { resolveApp } from './apps';
import { ApiError } from './errors';
import { flag, optionalString } from './para';
import type { InterfaceDef } from './types';

/** An upstream call with less time than this left is not worth starting. */
const MIN_CALL_MS = 20;

/**
 * The request out of `para`, every documented bound checked (1003 naming the field), so that a
 * call WeChat would refuse is never made:
 * - scene: an integer → scene_id (temporary 1..2147483647, permanent 1..100000); a string →
 *   scene_str, 1..64 characters (a numeric string stays a string scene)
 * - permanent: boolean (the string "false" is false)
 * - expire_seconds: temporary codes only, an integer 1..2592000; omitted → WeChat's 60 s
 */
export function qrcodeRequest(para: Record<string, unknown>): QrcodeRequest {
  const permanent = flag(para, 'permanent');
  const scene = para.scene;
  const kind = permanent ? 'a permanent' : 'a temporary';
  if (scene === undefined || scene === null) throw new ApiError('bad_para', 'para.scene is required');
  if (typeof scene === 'number') {
    const max = permanent ? QRCODE_BOUNDS.maxPermanentSceneId : QRCODE_BOUNDS.maxTemporarySceneId;
    if (!Number.isInteger(scene) || scene < 1 || scene > max) {
      throw new ApiError(
        'bad_para',
        `para.scene must be an integer between 1 and ${max} for ${kind} code (or a string)`,
      );
    }
  } else if (typeof scene === 'string') {
    const length = [...scene].length;
    if (length < 1 || length > QRCODE_BOUNDS.maxSceneStrLength) {
      throw new ApiError(
        'bad_para',
        `para.scene must be 1 to ${QRCODE_BOUNDS.maxSceneStrLength} characters long as a string`,
      );
    }
  } else {
    throw new ApiError('bad_para', 'para.scene must be an integer or a string');
  }

  const expire = para.expire_seconds;
  if (expire === undefined || expire === null) return { scene, permanent };
  if (permanent)
    throw new ApiError('bad_para', 'para.expire_seconds is for temporary codes only (permanent codes never expire)');
  if (
    typeof expire !== 'number' ||
    !Number.isInteger(expire) ||
    expire < 1 ||
    expire > QRCODE_BOUNDS.maxExpireSeconds
  ) {
    throw new ApiError(
      'bad_para',
      `para.expire_seconds must be an integer between 1 and ${QRCODE_BOUNDS.maxExpireSeconds} (30 days)`,
    );
  }
  return { scene, permanent, expireSeconds: expire };
}

export const qrcodeCreate: InterfaceDef = {
  name: 'qrcode.create',
  access: 'realm',
  async handle({ para, realm, call, services }) {
    const app = await resolveApp(services, realm, optionalString(para, 'appid', 64), ['mp']);
    const request = qrcodeRequest(para);
    const { config, credentials } = services;
    // A rejected token (40001/40014/42001) is force-refreshed with stale = the one used, and the call retried once.
    const created = await withAccessToken(credentials, credentials.token(app), { call }, (accessToken) => {
      const timeoutMs = callTimeout(config, call);
      call.upstreamCalls++;
      return createQrcode(config.upstream.mp, accessToken, request, timeoutMs);
    }).catch((err: unknown) => {
      throw fromUpstream(err, app.appid);
    });
    return {
      appid: app.appid,
      ticket: created.ticket,
      url: created.url,
      image_url: showQrcodeUrl(config.upstream.showqrcode ?? SHOWQRCODE_BASE, created.ticket),
      expire_seconds: created.expireSeconds ?? null,
    };
  },
};

/** What is left of the request's budget, at most one configured upstream timeout. */
function callTimeout(config: Config, call: CallContext): number {
  const left = call.deadline - performance.now();
  if (left < MIN_CALL_MS)
    throw new ApiError('upstream_unavailable', 'no time left in the request budget to reach WeChat');
  return Math.min(config.upstream.timeoutMs, left);
}

/** A failure of cgi-bin/qrcode/create as an ApiError (credential failures pass through to toApiError). */
function fromUpstream(err: unknown, appid: string): unknown {
  if (err instanceof UpstreamUnavailable) {
    return new ApiError('upstream_unavailable', `WeChat did not answer ${err.endpoint} for ${appid} (${err.reason})`);
  }
  if (!(err instanceof WechatError)) return err;
  const what = `${err.endpoint} for ${appid} answered errcode ${err.errcode}`;
  switch (classifyUpstream(err)) {
    case 'retry':
      return new ApiError('upstream_unavailable', `${what}: WeChat is busy, retry shortly`, err.errcode);
    case 'quota':
      return new ApiError('quota_exhausted', `${what}: WeChat's daily quota is exhausted`, err.errcode);
    case 'config':
      return new ApiError(
        'config_fault',
        `${what}: check the app's configuration and WeChat's IP allow-list`,
        err.errcode,
      );
    default:
      return new ApiError('upstream_error', what, err.errcode);
  }
}
