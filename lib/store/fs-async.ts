/**
 * node:fs's callback API, promisified: measurably cheaper per call than node:fs/promises on the file store's hot path.
 * docs/design.md §6.3.
 */
import * as fs from 'node:fs';
import { promisify } from 'node:util';

export const readFile = promisify(fs.readFile);
export const writeFile = promisify(fs.writeFile);
export const rename = promisify(fs.rename);
export const unlink = promisify(fs.unlink);
export const link = promisify(fs.link);
export const stat = promisify(fs.stat);
export const mkdir = promisify(fs.mkdir);
export const readdir = promisify(fs.readdir);
