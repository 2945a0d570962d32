import { describe, expect, it } from 'vitest';
import { canonicalInterface, REALM_INTERFACE_NAMES } from '../config/interface-names';
import { INTERFACES } from './index';

describe("the config's list of interface names", () => {
  it('holds every interface, each name meaning the scope the gateway checks for it', () => {
    const table: Record<string, string[]> = {};
    for (const def of INTERFACES) {
      const scope = def.aliasOf ?? def.name;
      table[scope] ??= [];
      for (const name of [def.name, ...(def.aliases ?? [])]) {
        expect(canonicalInterface(name), name).toBe(scope);
        if (name !== scope) table[scope].push(name);
      }
    }
    const sorted = (t: Readonly<Record<string, readonly string[]>>) =>
      Object.fromEntries(Object.entries(t).map(([k, names]) => [k, [...names].sort()]));
    expect(sorted(REALM_INTERFACE_NAMES)).toEqual(sorted(table));
  });
});
