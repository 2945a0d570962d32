/**
 * Recorded platform events (realistic samples shaped as each platform documents them; the source of each shape is
 * listed in docs/design.md §4).
 */
import { readFileSync } from 'node:fs';

export const samples = {
  'scf-apigw': 'scf-apigw',
  'scf-url': 'scf-url',
  'scf-timer': 'scf-timer',
  'aws-v1': 'aws-v1',
  'aws-v2': 'aws-v2',
  'aws-v2-base64': 'aws-v2',
  'aws-schedule': 'aws-schedule',
} as const;

export type SampleName = keyof typeof samples;

export const sampleNames = Object.keys(samples) as SampleName[];

/** A fresh parsed copy of `test/support/events/<name>.json` (tests may mutate it). */
export function loadEvent(name: SampleName): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`./${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
}
