/**
 * A store behind a switch, for outages in one process: `down` makes every call fail ('error') or never answer ('hang');
 * `delayMs` makes every call answer that much later (a slow network). docs/design.md §6.4, §9.
 */
import type { Store } from '../../lib/store/port';

export interface Switch {
  down: false | 'error' | 'hang';
  delayMs: number;
}

export function switchable(inner: Store): { store: Store; state: Switch } {
  const state: Switch = { down: false, delayMs: 0 };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || prop === 'close') return v;
      return async (...args: unknown[]) => {
        if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
        if (state.down === 'error') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        if (state.down === 'hang') return new Promise(() => {});
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, state };
}
