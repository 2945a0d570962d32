/**
 * Where a serverless function's configuration lives: an environment variable, within the 4 KB
 * SCF and Lambda allow; a secret (WECRED_CONFIG=ssm:NAME or secretsmanager:ID); or a wecred.json
 * packaged in the zips, holding its secrets as references. See docs/design.md §3.5.
 */
import { ConfigError } from './errors';
import { parseJson } from './load';
import { secretFields } from './schema';
import { referencePrefix } from './secrets';

/**
 * A function's environment, names and values counted: 4 KB on SCF
 * (cloud.tencent.com/document/product/583/11637) and on Lambda
 * (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
 */
export const ENVIRONMENT_LIMIT_BYTES = 4096;

export function environmentBytes(vars: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(vars)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  return bytes;
}

/** The one line refusing `vars` as a function's environment, or undefined when they fit. */
export function environmentTooLarge(vars: Readonly<Record<string, string>>): string | undefined {
  const bytes = environmentBytes(vars);
  if (bytes <= ENVIRONMENT_LIMIT_BYTES) return undefined;
  return (
    `the function's environment (${Object.keys(vars).join(', ')}) is ${(bytes / 1024).toFixed(1)} KB, over the 4 KB SCF and Lambda allow: ` +
    'put the configuration in a secret (WECRED_CONFIG=ssm:NAME on SCF, WECRED_CONFIG=secretsmanager:ID on Lambda) ' +
    'or in the zips (npm run package -- --config FILE)'
  );
}

/**
 * A configuration file about to be packaged: JSON, and every secret a reference (a zip is copied
 * to build machines and consoles). A store URL without a password may stay literal. Throws
 * ConfigError; the schema itself is checked at cold start, when the references resolve.
 */
export function checkPackagedConfig(text: string, name: string): void {
  const raw = parseJson(text, name);
  for (const { field, value } of secretFields(raw, {})) {
    if (referencePrefix(value) !== undefined || (field === 'store' && !hasPassword(value))) continue;
    throw new ConfigError(
      field,
      'holds a secret itself: a packaged configuration names its secrets (env:NAME, ssm:NAME or secretsmanager:ID)',
    );
  }
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return true;
  }
}
