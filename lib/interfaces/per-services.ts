/** A value built once per deployment (one Services), on first use: the flows the interfaces and routes share. */
import type { Services } from './types';

export function perServices<T>(make: (services: Services) => T): (services: Services) => T {
  const made = new WeakMap<Services, T>();
  return (services) => {
    let value = made.get(services);
    if (value === undefined) {
      value = make(services);
      made.set(services, value);
    }
    return value;
  };
}
