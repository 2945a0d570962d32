/**
 * The cloud secret stores a configuration may reference (`ssm:`, `secretsmanager:`), for the
 * entry points to give loadConfig. Their SDKs load on first use. See docs/design.md §3.5.
 */
import type { SecretSources } from '../config/secret-source';
import { fromAwsSecretsManager } from './aws-secrets';
import { fromTencentSsm } from './tencent-ssm';

export const SECRET_SOURCES: SecretSources = { 'ssm:': fromTencentSsm, 'secretsmanager:': fromAwsSecretsManager };
