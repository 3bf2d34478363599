/** Every fuzz property of the project, grouped by the function under test. */
import { properties as auditString } from './audit-string.fuzz.js';
import { properties as bearer } from './bearer.fuzz.js';
import { properties as challenge } from './challenge.fuzz.js';
import { properties as envelope } from './envelope.fuzz.js';
import { properties as operation } from './operation.fuzz.js';
import { properties as strictJson } from './strict-json.fuzz.js';
import type { FuzzProperty } from './property.js';

/** All properties, in a stable order. */
export const allProperties: readonly FuzzProperty[] = [
  ...bearer,
  ...envelope,
  ...strictJson,
  ...operation,
  ...challenge,
  ...auditString,
];
