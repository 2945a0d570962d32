/** Sealing third-party platforms' secrets at rest (lib/crypto/at-rest.ts), with the failures as credential errors. */
import type { Config } from '../config/types';
import { AtRestError, cipherFor } from '../crypto/at-rest';
import { CredentialError } from '../credentials/errors';

export interface Sealer {
  seal(plaintext: string, context: string): string;
  /** The plaintext; a value that does not open is a configuration fault naming `what`. */
  open(sealed: string, context: string, what: string): string;
}

export function sealerFor(config: Pick<Config, 'masterKey'>): Sealer {
  const cipher = cipherFor(config);
  const fault = (err: unknown, what: string): never => {
    if (!(err instanceof AtRestError)) throw err;
    if (err.reason === 'no-key')
      throw new CredentialError('config_fault', `WECRED_MASTER_KEY is needed: ${what} is kept sealed at rest`);
    throw new CredentialError('config_fault', `${what} does not open (${err.message}): check WECRED_MASTER_KEY`);
  };
  return {
    seal(plaintext, context) {
      try {
        return cipher.seal(plaintext, context);
      } catch (err) {
        return fault(err, 'a third-party platform secret');
      }
    },
    open(sealed, context, what) {
      try {
        return cipher.open(sealed, context);
      } catch (err) {
        return fault(err, what);
      }
    },
  };
}
