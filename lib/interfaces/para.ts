/** Reading `para` fields with clear 1003 errors that name the field. docs/design.md §3.2. */
import { ApiError } from './errors';

type Para = Record<string, unknown>;

export function optionalString(para: Para, field: string, maxLength = 2048): string | undefined {
  const v = para[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '') throw new ApiError('bad_para', `para.${field} must be a non-empty string`);
  if (v.length > maxLength) throw new ApiError('bad_para', `para.${field} is longer than ${maxLength} characters`);
  return v;
}

export function requiredString(para: Para, field: string, maxLength = 2048): string {
  const v = optionalString(para, field, maxLength);
  if (v === undefined) throw new ApiError('bad_para', `para.${field} is required`);
  return v;
}

/** A real boolean; also the strings "true"/"false" and 1/0 that form-minded clients send. */
export function flag(para: Para, field: string): boolean {
  const v = para[field];
  if (v === undefined || v === null || v === false || v === 'false' || v === 0 || v === '0' || v === '') return false;
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  throw new ApiError('bad_para', `para.${field} must be a boolean`);
}

export function optionalStringList(para: Para, field: string): string[] | undefined {
  const v = para[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ApiError('bad_para', `para.${field} must be an array of strings`);
  return v as string[];
}

export function oneOf<T extends string>(para: Para, field: string, allowed: readonly T[], fallback: T): T {
  const v = para[field];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ApiError('bad_para', `para.${field} must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}
