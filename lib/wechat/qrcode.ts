/**
 * Parametric QR codes (docs/protocol.md §2.7): `POST /cgi-bin/qrcode/create` on api.weixin.qq.com, and
 * the public image URL `GET /cgi-bin/showqrcode?ticket=` on mp.weixin.qq.com.
 * One attempt per call; nothing here knows about stores, leases or token refresh.
 */
import { UpstreamUnavailable } from './errors';
import { callJson, upstreamUrl } from './http';

/** The documented bounds of qrcode/create; callers check them before calling. */
export const QRCODE_BOUNDS = {
  /** Temporary codes live at most 30 days. */
  maxExpireSeconds: 2_592_000,
  /**
   * Temporary scene_id: docs/protocol.md §2.7 says only "32-bit non-zero integer"; 1..2^31-1 is valid
   * whether WeChat reads it signed or unsigned.
   */
  maxTemporarySceneId: 2_147_483_647,
  /** Permanent scene_id: 1..100000. */
  maxPermanentSceneId: 100_000,
  /** scene_str: 1..64 characters. */
  maxSceneStrLength: 64,
} as const;

/** Where showqrcode lives on the real platform (upstream.showqrcode overrides it). */
export const SHOWQRCODE_BASE = 'https://mp.weixin.qq.com';

export type QrcodeAction = 'QR_SCENE' | 'QR_STR_SCENE' | 'QR_LIMIT_SCENE' | 'QR_LIMIT_STR_SCENE';

export interface QrcodeRequest {
  /** A number is sent as scene_id, a string as scene_str. */
  scene: number | string;
  permanent: boolean;
  /** Temporary codes only; omitted → WeChat's default (60 s). */
  expireSeconds?: number;
}

export interface QrcodeTicket {
  ticket: string;
  /** The decoded content of the QR code (http://weixin.qq.com/q/…). */
  url: string;
  /** Temporary codes only; permanent codes have none. */
  expireSeconds?: number;
}

const CREATE = 'cgi-bin/qrcode/create';
const SHOW = 'cgi-bin/showqrcode';

function qrcodeAction(req: QrcodeRequest): QrcodeAction {
  const str = typeof req.scene === 'string';
  if (req.permanent) return str ? 'QR_LIMIT_STR_SCENE' : 'QR_LIMIT_SCENE';
  return str ? 'QR_STR_SCENE' : 'QR_SCENE';
}

/** The JSON body WeChat documents for the request. */
export function qrcodeBody(req: QrcodeRequest): Record<string, unknown> {
  const scene = typeof req.scene === 'string' ? { scene_str: req.scene } : { scene_id: req.scene };
  return {
    ...(!req.permanent && req.expireSeconds !== undefined ? { expire_seconds: req.expireSeconds } : {}),
    action_name: qrcodeAction(req),
    action_info: { scene },
  };
}

/** `POST /cgi-bin/qrcode/create?access_token=`: a ticket for a temporary or permanent code. */
export async function createQrcode(
  baseUrl: string,
  accessToken: string,
  req: QrcodeRequest,
  timeoutMs: number,
): Promise<QrcodeTicket> {
  const url = upstreamUrl(baseUrl, CREATE, { access_token: accessToken });
  const body = await callJson(CREATE, url, { method: 'POST', json: qrcodeBody(req), timeoutMs });
  const { ticket, url: content, expire_seconds: expireSeconds } = body;
  if (typeof ticket !== 'string' || ticket === '' || typeof content !== 'string')
    throw new UpstreamUnavailable(CREATE, 'body');
  if (req.permanent) return { ticket, url: content };
  if (typeof expireSeconds !== 'number' || !Number.isInteger(expireSeconds) || expireSeconds <= 0)
    throw new UpstreamUnavailable(CREATE, 'body');
  return { ticket, url: content, expireSeconds };
}

/** The image URL of a ticket (no auth needed: anybody holding it can show the code). */
export function showQrcodeUrl(baseUrl: string, ticket: string): string {
  return upstreamUrl(baseUrl, SHOW, { ticket });
}
