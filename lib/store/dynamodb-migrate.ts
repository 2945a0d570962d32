/**
 * Creates the DynamoDB table a store URL names from db/dynamodb/table.json (the definition
 * serverless.yml deploys too), waits until it is ACTIVE and enables TTL. Idempotent: an
 * existing table is left as it is, TTL included when already on. docs/design.md §6.3.
 */
import { readFile } from 'node:fs/promises';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  type TimeToLiveSpecification,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { dynamoClient, parseDynamoUrl } from './dynamodb';

/** CloudFormation `Properties` of AWS::DynamoDB::Table; the name always comes from the URL. */
type TableDefinition = Omit<CreateTableCommandInput, 'TableName'> & {
  TableName?: string;
  TimeToLiveSpecification?: TimeToLiveSpecification;
};

const DEFINITION = new URL('../../db/dynamodb/table.json', import.meta.url);
const MAX_WAIT_SECONDS = 300;

export async function migrateDynamo(url: string): Promise<{ table: string; created: boolean }> {
  const target = parseDynamoUrl(url);
  const { table } = target;
  const { TimeToLiveSpecification: ttl, ...definition } = JSON.parse(
    await readFile(DEFINITION, 'utf8'),
  ) as TableDefinition;
  const client = dynamoClient(target);
  try {
    const created = !(await exists(client, table)) && (await create(client, { ...definition, TableName: table }));
    await waitUntilTableExists(
      { client, maxWaitTime: MAX_WAIT_SECONDS, minDelay: 1, maxDelay: 5 },
      { TableName: table },
    );
    if (ttl?.Enabled && ttl.AttributeName) await enableTtl(client, table, ttl.AttributeName);
    return { table, created };
  } finally {
    client.destroy();
  }
}

// Describe before create, so a migrate against a deployed table needs no CreateTable permission.
async function exists(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: table }));
    return true;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false;
    throw err;
  }
}

/** False when a concurrent migrate created the table first. */
async function create(client: DynamoDBClient, input: CreateTableCommandInput): Promise<boolean> {
  try {
    await client.send(new CreateTableCommand(input));
    return true;
  } catch (err) {
    if (err instanceof ResourceInUseException) return false;
    throw err;
  }
}

async function enableTtl(client: DynamoDBClient, table: string, attribute: string): Promise<void> {
  const { TimeToLiveDescription: d } = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
  if ((d?.TimeToLiveStatus === 'ENABLED' || d?.TimeToLiveStatus === 'ENABLING') && d.AttributeName === attribute)
    return;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
  } catch (err) {
    // dynalite answers DescribeTimeToLive (always DISABLED) but not UpdateTimeToLive. It never
    // expires items either; the store decides expiry by expiresAt, so nothing depends on it.
    if (!(err instanceof Error && err.name === 'UnknownOperationException')) throw err;
  }
}
