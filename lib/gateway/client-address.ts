/**
 * The client's address: the platform's, or the last value of the header a trusted proxy in front
 * sets (config clients.addressHeader). docs/design.md §11.
 */
import type { HttpRequest } from './http';

export function clientAddress(req: HttpRequest, header: string | undefined): string | undefined {
  const forwarded = header === undefined ? undefined : req.headers[header]?.split(',').at(-1)?.trim();
  return forwarded || req.sourceIp;
}
