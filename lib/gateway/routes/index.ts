/** The route table (DESIGN §3.3); `POST /` (the envelope) is the app's own. */
import { jsapiConfig, ping, verifyFile } from './basic';
import type { Route } from './types';

export const ROUTES: readonly Route[] = [ping, verifyFile, jsapiConfig];

export type { Route, RouteContext } from './types';
