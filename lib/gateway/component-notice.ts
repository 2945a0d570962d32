/**
 * A third-party platform's notices, decrypted (docs/protocol.md §11.1, §11.4): the verify ticket
 * and the authorization changes, read from `<xml>`'s direct children (lib/gateway/push-xml.ts).
 */
import { xmlChildren } from './push-xml';

export type ComponentNotice =
  | { kind: 'component_verify_ticket'; appid: string; createTime: number; ticket: string }
  | {
      kind: 'authorized' | 'updateauthorized';
      appid: string;
      createTime: number;
      authorizer: string;
      code: string;
    }
  | { kind: 'unauthorized'; appid: string; createTime: number; authorizer: string }
  /** Another InfoType (fast registration results, …), or a notice missing what its kind needs. */
  | { kind: 'other'; appid: string; createTime: number; infoType: string };

/** The notice in `xml`, or undefined when it has no AppId, InfoType or CreateTime. */
export function readNotice(xml: string): ComponentNotice | undefined {
  const children = xmlChildren(xml.trim());
  const field = (name: string) => {
    const values = children?.get(name);
    return values?.length === 1 && values[0] ? values[0] : undefined;
  };
  const appid = field('AppId');
  const infoType = field('InfoType');
  const createTime = Number(field('CreateTime'));
  if (appid === undefined || infoType === undefined || !Number.isSafeInteger(createTime)) return undefined;
  const ticket = field('ComponentVerifyTicket');
  const authorizer = field('AuthorizerAppid');
  const code = field('AuthorizationCode');
  if (infoType === 'component_verify_ticket' && ticket !== undefined)
    return { kind: infoType, appid, createTime, ticket };
  if ((infoType === 'authorized' || infoType === 'updateauthorized') && authorizer !== undefined && code !== undefined)
    return { kind: infoType, appid, createTime, authorizer, code };
  if (infoType === 'unauthorized' && authorizer !== undefined) return { kind: infoType, appid, createTime, authorizer };
  return { kind: 'other', appid, createTime, infoType };
}
