/**
 * Per-operation authorization policy: declarative data (validated once), and the decision for one
 * operation and one verified principal. Decisions name every scope the operation needs so a
 * single challenge is enough (MCP 2026-07-28).
 */
import { McpIamError } from '../errors.js';
import type { McpOperation } from '../mcp/operation.js';
import type { Principal } from '../principal/principal.js';
import { actorChain } from '../principal/principal.js';

/** What a caller must have for one method, tool, resource or prompt. Every listed check applies. */
export interface Requirement {
  /** Scopes the token must grant (all of them), after `scopeHierarchy` expansion. */
  readonly scopes?: readonly string[];
  /** Accepted `acr` values (any of them); otherwise step-up (RFC 9470). */
  readonly acr?: readonly string[];
  /** Longest time since the user authenticated (`auth_time`), in seconds; otherwise step-up. */
  readonly max_age?: number;
  /** OAuth clients allowed (`client_id`); otherwise `forbidden_client`. */
  readonly clients?: readonly string[];
  /** Allowed current actors (`act.sub`) of delegated tokens; otherwise `forbidden_actor`. */
  readonly actors?: readonly string[];
  /** Longest accepted actor chain; longer → `delegation_too_deep`. */
  readonly maxDelegationDepth?: number;
  /**
   * Claims the token must carry. A string value must equal the claim or be an element of an
   * array claim; a list accepts any of its values. Otherwise `forbidden_claims`.
   */
  readonly claims?: Readonly<Record<string, string | readonly string[]>>;
  /** Whether delegated tokens (with `act`) are accepted at all. Default true. */
  readonly allowDelegated?: boolean;
}

/** A route's policy. Keys of `methods`, `tools`, `prompts` are exact; see `resources` for URIs. */
export interface Policy {
  /** What an operation nobody listed gets. */
  readonly default: 'deny' | 'allow';
  /** Requirements per JSON-RPC method (and `GET` / `DELETE` for the HTTP operations). */
  readonly methods?: Readonly<Record<string, Requirement>>;
  /** Requirements per tool name, for `tools/call` (the `tools/call` method entry applies too). */
  readonly tools?: Readonly<Record<string, Requirement>>;
  /**
   * Requirements per resource URI, for `resources/read`. A key ending in `*` is a prefix; exact
   * keys win over prefixes, and the longest prefix wins among prefixes.
   */
  readonly resources?: Readonly<Record<string, Requirement>>;
  /** Requirements per prompt name, for `prompts/get`. */
  readonly prompts?: Readonly<Record<string, Requirement>>;
  /** Scopes that imply others: `{ 'crm.write': ['crm.read'] }` (transitive). */
  readonly scopeHierarchy?: Readonly<Record<string, readonly string[]>>;
}

/** Outcome of `decide`. */
export type Decision =
  | { readonly kind: 'allow'; readonly requiredScopes: readonly string[] }
  | { readonly kind: 'insufficient_scope'; readonly requiredScopes: readonly string[] }
  | {
      readonly kind: 'insufficient_user_authentication';
      readonly requiredScopes: readonly string[];
      readonly acrValues?: readonly string[];
      readonly maxAge?: number;
    }
  | {
      readonly kind: 'forbidden';
      readonly reason:
        | 'forbidden'
        | 'forbidden_client'
        | 'forbidden_actor'
        | 'delegation_too_deep'
        | 'forbidden_claims'
        | 'unknown_operation';
      readonly requiredScopes: readonly string[];
    };

/** A policy document that failed validation; `path` points at the offending entry. */
export class PolicyError extends McpIamError<'invalid_policy'> {
  readonly path: string;
  constructor(path: string, message: string) {
    super('invalid_policy', `${path}: ${message}`);
    this.name = 'PolicyError';
    this.path = path;
  }
}

const REQUIREMENT_KEYS = new Set([
  'scopes',
  'acr',
  'max_age',
  'clients',
  'actors',
  'maxDelegationDepth',
  'claims',
  'allowDelegated',
]);
const POLICY_KEYS = new Set([
  'default',
  'methods',
  'tools',
  'resources',
  'prompts',
  'scopeHierarchy',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function stringList(value: unknown, path: string, nonEmpty = false): readonly string[] {
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || s.length === 0)) {
    throw new PolicyError(path, 'must be a list of non-empty strings');
  }
  if (nonEmpty && value.length === 0) throw new PolicyError(path, 'must not be empty');
  return Object.freeze([...(value as string[])]);
}

// RFC 6749 §3.3 scope-token: printable ASCII without space, `"` and `\`. Scopes end up in
// `WWW-Authenticate` challenges, so anything else would make the answer unsendable.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function scopeTokens(values: readonly string[], path: string): readonly string[] {
  const bad = values.find((v) => !SCOPE_TOKEN.test(v));
  if (bad !== undefined) {
    throw new PolicyError(
      path,
      `${JSON.stringify(bad)} is not a scope token (printable ASCII, no space, quote or backslash)`,
    );
  }
  return values;
}

function validateRequirement(value: unknown, path: string): Requirement {
  if (value === null || value === undefined) return Object.freeze({});
  if (!isRecord(value)) throw new PolicyError(path, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!REQUIREMENT_KEYS.has(key)) throw new PolicyError(`${path}.${key}`, 'unknown key');
  }
  const out: Record<string, unknown> = {};
  if (value['scopes'] !== undefined) {
    out['scopes'] = scopeTokens(stringList(value['scopes'], `${path}.scopes`), `${path}.scopes`);
  }
  for (const key of ['acr', 'clients', 'actors'] as const) {
    if (value[key] !== undefined) out[key] = stringList(value[key], `${path}.${key}`, true);
  }
  // acr values are written into `acr_values="…"` challenges: same character rules as scopes.
  if (out['acr'] !== undefined) scopeTokens(out['acr'] as readonly string[], `${path}.acr`);
  for (const key of ['max_age', 'maxDelegationDepth'] as const) {
    const n = value[key];
    if (n === undefined) continue;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new PolicyError(`${path}.${key}`, 'must be a non-negative integer');
    }
    out[key] = n;
  }
  if (value['allowDelegated'] !== undefined) {
    if (typeof value['allowDelegated'] !== 'boolean') {
      throw new PolicyError(`${path}.allowDelegated`, 'must be a boolean');
    }
    out['allowDelegated'] = value['allowDelegated'];
  }
  if (value['claims'] !== undefined) {
    const claims = value['claims'];
    if (!isRecord(claims)) throw new PolicyError(`${path}.claims`, 'must be an object');
    const c: Record<string, string | readonly string[]> = {};
    for (const [name, want] of Object.entries(claims)) {
      if (typeof want === 'string') c[name] = want;
      else c[name] = stringList(want, `${path}.claims.${name}`, true);
    }
    out['claims'] = Object.freeze(c);
  }
  return Object.freeze(out) as Requirement;
}

function validateTable(value: unknown, path: string): Readonly<Record<string, Requirement>> {
  if (value === undefined) return Object.freeze({});
  if (!isRecord(value)) throw new PolicyError(path, 'must be an object');
  const out: Record<string, Requirement> = Object.create(null) as Record<string, Requirement>;
  for (const [key, req] of Object.entries(value))
    out[key] = validateRequirement(req, `${path}.${key}`);
  return Object.freeze(out);
}

/**
 * Validates a policy document (for example parsed from YAML) and returns a frozen `Policy`.
 * Unknown keys, wrong types and empty lists where a list must decide something are errors.
 *
 * @example
 * ```ts
 * const policy = validatePolicy({
 *   default: 'deny',
 *   methods: { initialize: {}, 'tools/list': {} },
 *   tools: { search: { scopes: ['crm.read'] } },
 * });
 * ```
 */
export function validatePolicy(input: unknown): Policy {
  if (!isRecord(input)) throw new PolicyError('policy', 'must be an object');
  for (const key of Object.keys(input)) {
    if (!POLICY_KEYS.has(key)) throw new PolicyError(`policy.${key}`, 'unknown key');
  }
  const def = input['default'] ?? 'deny';
  if (def !== 'deny' && def !== 'allow')
    throw new PolicyError('policy.default', "must be 'deny' or 'allow'");
  let hierarchy: Record<string, readonly string[]> | undefined;
  if (input['scopeHierarchy'] !== undefined) {
    if (!isRecord(input['scopeHierarchy']))
      throw new PolicyError('policy.scopeHierarchy', 'must be an object');
    hierarchy = Object.create(null) as Record<string, readonly string[]>;
    for (const [scope, implied] of Object.entries(input['scopeHierarchy'])) {
      scopeTokens([scope], 'policy.scopeHierarchy');
      hierarchy[scope] = scopeTokens(
        stringList(implied, `policy.scopeHierarchy.${scope}`),
        `policy.scopeHierarchy.${scope}`,
      );
    }
    Object.freeze(hierarchy);
  }
  const policy: Policy = Object.freeze({
    default: def,
    methods: validateTable(input['methods'], 'policy.methods'),
    tools: validateTable(input['tools'], 'policy.tools'),
    resources: validateTable(input['resources'], 'policy.resources'),
    prompts: validateTable(input['prompts'], 'policy.prompts'),
    ...(hierarchy ? { scopeHierarchy: hierarchy } : {}),
  });
  validatedPolicies.add(policy);
  return policy;
}

/**
 * Policies returned by `validatePolicy`: frozen all the way down, with requirement objects of
 * their own, so what `decide` derives from a requirement list can be kept per requirement.
 */
const validatedPolicies = new WeakSet<Policy>();

/** What `decide` derives from the requirements of an operation alone (no principal). */
interface ScopePlan {
  /** Every scope the requirements list, in first-seen order. */
  readonly required: readonly string[];
  /** `required` without scopes implied by another of them, sorted (frozen: it is shared). */
  readonly requiredScopes: readonly string[];
}

// Plans of validated policies, keyed by the last requirement of the list (the target's, or the
// method's alone), then by the method's. Requirement objects belong to one policy: bounded by its
// size, never by request content.
const singlePlans = new WeakMap<Requirement, ScopePlan>();
const pairPlans = new WeakMap<Requirement, WeakMap<Requirement, ScopePlan>>();

function computeScopePlan(
  reqs: readonly Requirement[],
  hierarchy: Policy['scopeHierarchy'],
): ScopePlan {
  const required = new Set<string>();
  for (const r of reqs) for (const s of r.scopes ?? []) required.add(s);
  return {
    required: [...required],
    requiredScopes: Object.freeze(minimalScopes(required, hierarchy)),
  };
}

function scopePlan(reqs: readonly Requirement[], policy: Policy): ScopePlan {
  if (reqs.length === 0 || reqs.length > 2 || !validatedPolicies.has(policy)) {
    return computeScopePlan(reqs, policy.scopeHierarchy);
  }
  const last = reqs[reqs.length - 1]!;
  let plan: ScopePlan | undefined;
  if (reqs.length === 1) {
    plan = singlePlans.get(last);
    if (plan === undefined) {
      plan = computeScopePlan(reqs, policy.scopeHierarchy);
      singlePlans.set(last, plan);
    }
    return plan;
  }
  let byFirst = pairPlans.get(last);
  if (byFirst === undefined) {
    byFirst = new WeakMap();
    pairPlans.set(last, byFirst);
  }
  plan = byFirst.get(reqs[0]!);
  if (plan === undefined) {
    plan = computeScopePlan(reqs, policy.scopeHierarchy);
    byFirst.set(reqs[0]!, plan);
  }
  return plan;
}

/** Every scope `scopes` grant, following `hierarchy` transitively. */
export function expandScopes(
  scopes: Iterable<string>,
  hierarchy: Policy['scopeHierarchy'],
): Set<string> {
  const out = new Set<string>();
  const queue = [...scopes];
  while (queue.length > 0) {
    const scope = queue.pop()!;
    if (out.has(scope)) continue;
    out.add(scope);
    const implied =
      hierarchy && Object.prototype.hasOwnProperty.call(hierarchy, scope)
        ? hierarchy[scope]
        : undefined;
    if (implied) queue.push(...implied);
  }
  return out;
}

function own<T>(table: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return table && Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

function resourceRequirement(policy: Policy, uri: string): Requirement | undefined {
  const exact = own(policy.resources, uri);
  if (exact) return exact;
  let best: [number, Requirement] | undefined;
  for (const [key, req] of Object.entries(policy.resources ?? {})) {
    if (!key.endsWith('*')) continue;
    const prefix = key.slice(0, -1);
    if (uri.startsWith(prefix) && (!best || prefix.length > best[0])) best = [prefix.length, req];
  }
  return best?.[1];
}

/** Methods that need only a valid token unless the policy lists them (protocol housekeeping). */
function housekeeping(op: McpOperation): boolean {
  return (
    op.kind === 'response' ||
    (op.kind === 'notification' && op.method.startsWith('notifications/')) ||
    (op.kind === 'http' && (op.method === 'GET' || op.method === 'DELETE'))
  );
}

/**
 * The requirements that apply to an operation, or `undefined` when the policy does not list it.
 * For `tools/call`, `resources/read` and `prompts/get` the target's entry decides whether the
 * operation is listed, and the method's entry (if any) applies as well.
 */
export function requirementsFor(op: McpOperation, policy: Policy): Requirement[] | undefined {
  const methodReq = own(policy.methods, op.method);
  let targetReq: Requirement | undefined;
  let targeted = false;
  if (op.tool !== undefined) {
    targeted = true;
    targetReq = own(policy.tools, op.tool);
  } else if (op.resource !== undefined) {
    targeted = true;
    targetReq = resourceRequirement(policy, op.resource);
  } else if (op.prompt !== undefined) {
    targeted = true;
    targetReq = own(policy.prompts, op.prompt);
  }
  if (targeted) {
    if (!targetReq) return undefined;
    return methodReq ? [methodReq, targetReq] : [targetReq];
  }
  if (methodReq) return [methodReq];
  if (housekeeping(op)) return [];
  return undefined;
}

/**
 * Removes scopes implied by another scope of the set, so a challenge names what to ask for.
 * Sorted for stable output.
 */
function minimalScopes(required: Set<string>, hierarchy: Policy['scopeHierarchy']): string[] {
  const result: string[] = [];
  for (const scope of required) {
    const impliedByOther = [...required].some(
      (other) =>
        other !== scope &&
        expandScopes([other], hierarchy).has(scope) &&
        !expandScopes([scope], hierarchy).has(other),
    );
    if (!impliedByOther) result.push(scope);
  }
  return result.sort();
}

function claimMatches(actual: unknown, want: string | readonly string[]): boolean {
  const wanted = typeof want === 'string' ? [want] : want;
  if (typeof actual === 'string') return wanted.includes(actual);
  if (Array.isArray(actual)) return actual.some((v) => typeof v === 'string' && wanted.includes(v));
  return false;
}

const NO_ACTORS: readonly string[] = Object.freeze([]);

function forbiddenDecision(
  reason: Extract<Decision, { kind: 'forbidden' }>['reason'],
  requiredScopes: readonly string[],
): Decision {
  return { kind: 'forbidden', reason, requiredScopes };
}

/** Options of `decide`. */
export interface DecideOptions {
  /** Current time in seconds since epoch (for `max_age`); default now. */
  readonly now?: number;
}

/**
 * Decides one operation for one verified principal. Order: unlisted operation (per `default`),
 * then forbidden checks (client, delegation, actor, claims), then scopes (403 naming every scope
 * the operation needs), then authentication strength (`acr`, `max_age`; RFC 9470 step-up).
 * Scope comparison is exact and case-sensitive.
 *
 * @example
 * ```ts
 * const d = decide(operation, principal, policy);
 * if (d.kind === 'insufficient_scope') console.log(d.requiredScopes);
 * ```
 */
export function decide(
  op: McpOperation,
  principal: Principal,
  policy: Policy,
  options: DecideOptions = {},
): Decision {
  const reqs = requirementsFor(op, policy);
  if (reqs === undefined) {
    return policy.default === 'allow'
      ? { kind: 'allow', requiredScopes: [] }
      : { kind: 'forbidden', reason: 'forbidden', requiredScopes: [] };
  }
  const plan = scopePlan(reqs, policy);
  const requiredScopes = plan.requiredScopes;

  const chain = principal.actor === undefined ? NO_ACTORS : actorChain(principal);
  for (const r of reqs) {
    if (r.clients && !r.clients.includes(principal.clientId)) {
      return forbiddenDecision('forbidden_client', requiredScopes);
    }
    if (chain.length > 0) {
      if (r.allowDelegated === false) return forbiddenDecision('forbidden_actor', requiredScopes);
      if (r.actors && !r.actors.includes(chain[0]!)) {
        return forbiddenDecision('forbidden_actor', requiredScopes);
      }
      if (r.maxDelegationDepth !== undefined && chain.length > r.maxDelegationDepth) {
        return forbiddenDecision('delegation_too_deep', requiredScopes);
      }
    }
    if (r.claims !== undefined) {
      for (const claim of Object.keys(r.claims)) {
        if (!claimMatches(principal.claims[claim], r.claims[claim]!)) {
          return forbiddenDecision('forbidden_claims', requiredScopes);
        }
      }
    }
  }

  if (policy.scopeHierarchy === undefined) {
    // Nothing implies anything: granted is exactly the token's scopes.
    for (const s of plan.required) {
      if (!principal.scopes.includes(s)) return { kind: 'insufficient_scope', requiredScopes };
    }
  } else {
    const granted = expandScopes(principal.scopes, policy.scopeHierarchy);
    if (plan.required.some((s) => !granted.has(s))) {
      return { kind: 'insufficient_scope', requiredScopes };
    }
  }

  let acrValues: string[] | undefined;
  let maxAge: number | undefined;
  for (const r of reqs) {
    if (r.acr) acrValues = acrValues ? acrValues.filter((a) => r.acr!.includes(a)) : [...r.acr];
    if (r.max_age !== undefined)
      maxAge = maxAge === undefined ? r.max_age : Math.min(maxAge, r.max_age);
  }
  if (acrValues && acrValues.length === 0) return forbiddenDecision('forbidden', requiredScopes);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const acrOk = !acrValues || (principal.acr !== undefined && acrValues.includes(principal.acr));
  const ageOk =
    maxAge === undefined ||
    (principal.authTime !== undefined && now - principal.authTime <= maxAge);
  if (!acrOk || !ageOk) {
    return {
      kind: 'insufficient_user_authentication',
      requiredScopes,
      ...(acrValues ? { acrValues } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
    };
  }
  return { kind: 'allow', requiredScopes };
}

/** Which entries `filterList` keeps. */
export interface FilterListOptions extends DecideOptions {
  /**
   * Also keep entries the caller could use after a step-up or a wider token
   * (`insufficient_scope`, `insufficient_user_authentication`). Default false: only entries the
   * caller may use now.
   */
  readonly includeStepUp?: boolean;
}

/**
 * Removes from a `tools/list`, `resources/list`, `resources/templates/list` or `prompts/list`
 * result every entry the principal may not use (as `tools/call` / `resources/read` /
 * `prompts/get` would be decided; a resource template by the fixed part before its first `{`).
 * Other fields of the result are kept; the input is not modified.
 *
 * @example
 * ```ts
 * const visible = filterList({ tools: [{ name: 'search' }, { name: 'delete' }] }, principal, policy);
 * ```
 */
export function filterList<T extends Record<string, unknown>>(
  listResult: T,
  principal: Principal,
  policy: Policy,
  options: FilterListOptions = {},
): T {
  const keep = (op: McpOperation): boolean => {
    const d = decide(op, principal, policy, options);
    return (
      d.kind === 'allow' ||
      (options.includeStepUp === true &&
        (d.kind === 'insufficient_scope' || d.kind === 'insufficient_user_authentication'))
    );
  };
  const out: Record<string, unknown> = { ...listResult };
  const filter = (
    key: string,
    method: string,
    field: 'tool' | 'resource' | 'prompt',
    nameKey: string,
  ): void => {
    const list = listResult[key];
    if (!Array.isArray(list)) return;
    out[key] = list.filter((entry: unknown) => {
      const name = isRecord(entry) ? entry[nameKey] : undefined;
      if (typeof name !== 'string') return false;
      return keep({ kind: 'request', method, [field]: name });
    });
  };
  filter('tools', 'tools/call', 'tool', 'name');
  filter('resources', 'resources/read', 'resource', 'uri');
  filter('prompts', 'prompts/get', 'prompt', 'name');
  // A template is kept when the fixed part before its first `{` would be readable, i.e. a
  // prefix rule covers every URI the template can expand to (or the default allows).
  const templates = listResult['resourceTemplates'];
  if (Array.isArray(templates)) {
    out['resourceTemplates'] = templates.filter((entry: unknown) => {
      const template = isRecord(entry) ? entry['uriTemplate'] : undefined;
      if (typeof template !== 'string') return false;
      const brace = template.indexOf('{');
      const fixed = brace < 0 ? template : template.slice(0, brace);
      return keep({ kind: 'request', method: 'resources/read', resource: fixed });
    });
  }
  return out as T;
}
