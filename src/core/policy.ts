import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { PaddockError } from './errors.js';

/**
 * The policy file, `.paddock/policy.yaml`. This schema is the single source: the code validates
 * with it and resources/policy.schema.json is generated from it (npm run schema).
 */

export { DEFAULT_BLOCKED_PATHS, DEFAULT_BRIDGE_DENY, DEFAULT_HIDE, DEFAULT_NETWORK_ALLOW, DEFAULT_READ_ONLY, POLICY_FILE } from './policy-defaults.js';
import { DEFAULT_BLOCKED_PATHS, DEFAULT_BRIDGE_DENY, DEFAULT_HIDE, DEFAULT_NETWORK_ALLOW, DEFAULT_READ_ONLY, POLICY_FILE } from './policy-defaults.js';

export const TIERS = ['strict', 'moderate', 'permissive'] as const;
export type Tier = (typeof TIERS)[number];

const globList = (description: string) => z.array(z.string().min(1)).describe(description);

export const permissionsSchema = z.strictObject({
  logs: z.boolean().default(true).describe('get_logs and search_logs'),
  inspect: z.boolean().default(true).describe('inspect_container (env values masked)'),
  stats: z.boolean().default(true).describe('get_stats'),
  exec: z.boolean().default(true).describe('exec_command (also limited by tier and whitelists)'),
  files: z.boolean().default(false).describe('list_files and read_file (blocked paths enforced)'),
  lifecycle: z.boolean().default(false).describe('start_container, stop_container, restart_container'),
}).describe('Which bridge tools are available at all');

export const bridgeSchema = z.strictObject({
  containers: globList('Containers the bridge may reach: name globs, or a compose project name').default([]),
  permissions: permissionsSchema.default(() => permissionsSchema.parse({})),
  exec: z.record(z.string(), z.array(z.string().min(1)))
    .describe('Per container name glob: allowed argv prefixes. "npm test" matches exactly; a trailing * allows more arguments ("echo *").')
    .default({}),
  deny: globList('Commands never allowed (used by the permissive tier)').default([...DEFAULT_BRIDGE_DENY]),
  blockedPaths: globList('Paths inside containers that no tool may read or pass as an argument').default([...DEFAULT_BLOCKED_PATHS]),
}).describe('The MCP bridge to the project\'s other containers');

export const networkSchema = z.strictObject({
  policy: z.enum(['allow', 'deny']).default('deny').describe('What happens to hosts no rule names: deny (default) or allow'),
  defaults: z.boolean().optional()
    .describe('Keep Paddock\'s built-in allow list (the agents\' APIs and sign-in, GitHub) in addition to "allow", so it follows Paddock\'s updates. Default: true when "allow" is not written; false when it is and this key is not (such a file lists every allowed host itself)'),
  allow: globList('Hosts ("*.example.com"), host:port, or CIDRs the sandbox may reach: with "defaults: true", the hosts added to the built-in list').optional(),
  deny: globList('Hosts, host:port or CIDRs that are always refused (wins over allow)').default([]),
  hostRegistries: z.boolean().default(true)
    .describe('Also allow the package registries this machine is configured with (npm registry, pip indexes, apt sources), read when the sandbox is created'),
  ask: z.enum(['refuse', 'hold', 'off']).optional().describe('A host no rule names (with policy deny) asks the user: "refuse" (default) answers 403 at once saying the user was asked; "hold" holds the request up to askHoldSeconds while they decide; "off" refuses without asking'),
  askHoldSeconds: z.number().int().min(1).max(300).optional().describe('With ask: hold, how long a request waits for the answer (default 30)'),
}).transform(({ defaults, allow, ...rest }) => ({ ...rest, allow: mergedAllow(defaults, allow) })).describe('Egress from the sandbox');

/**
 * The allow list in force: the built-in hosts (when kept) then the file's own, without repeats. A
 * file that writes "allow" without "defaults" keeps its meaning from before the key existed: its
 * list is complete (reading it as additions would widen what such a file allows).
 */
export function mergedAllow(defaults: boolean | undefined, allow: readonly string[] | undefined): string[] {
  const keepDefaults = defaults ?? allow === undefined;
  return [...new Set([...(keepDefaults ? DEFAULT_NETWORK_ALLOW : []), ...(allow ?? [])])];
}

const memory = z.union([z.string().regex(/^\d+(\.\d+)?\s*[bkmgtBKMGT]?i?[bB]?$/), z.number().int().positive()]);

export const resourcesSchema = z.strictObject({
  cpus: z.number().positive().optional().describe('CPU limit (default 2)'),
  memory: memory.optional().describe('Memory limit, e.g. 4g (default 4g)'),
  pids: z.number().int().min(16).optional().describe('Process limit (default 1024)'),
}).describe('Resource limits of the sandbox');

export const policySchema = z.strictObject({
  version: z.literal(1).default(1).describe('Policy file format version'),
  hide: globList('Workspace paths the sandbox never sees (globs relative to the workspace; "!" re-includes). Files are covered with /dev/null, folders with an empty read-only tmpfs.')
    .default([...DEFAULT_HIDE]),
  readOnly: globList('Workspace paths the agent can read but not change (its own cage)').default([...DEFAULT_READ_ONLY]),
  tier: z.enum(TIERS).default('moderate').describe('strict: no exec; moderate: whitelisted commands only; permissive: anything but bridge.deny'),
  bridge: bridgeSchema.default(() => bridgeSchema.parse({})),
  network: networkSchema.default(() => networkSchema.parse({})),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).default({}).describe('Environment variables of the sandbox (not secrets: the agent can read them)'),
  resources: resourcesSchema.default({}),
  ports: z.array(z.union([z.number().int().min(1).max(65535), z.string().regex(/^(\d+:)?\d+(\/(tcp|udp))?$/)])).default([]).describe('Ports published on 127.0.0.1'),
}).describe('Paddock sandbox policy (.paddock/policy.yaml)');

export type Policy = z.infer<typeof policySchema>;
export type BridgePolicy = Policy['bridge'];
export type NetworkPolicy = Policy['network'];


/** One problem in a policy file, with its place in the text (0-based offsets, 1-based line/col). */
export interface PolicyIssue {
  readonly message: string;
  /** Path of keys to the problem, e.g. ["bridge", "exec", "demo-api", 0]. */
  readonly path: readonly (string | number)[];
  readonly range: { start: number; end: number; line: number; col: number };
}

export interface LoadedPolicy {
  readonly policy: Policy;
  /** The file it came from; undefined when the defaults apply. */
  readonly file?: string;
  readonly hash: string;
}

export function defaultPolicy(): Policy {
  return policySchema.parse({});
}

/** A stable hash of the effective policy: labels sandboxes so drift since creation is visible. */
export function policyHash(policy: Policy): string {
  return createHash('sha256').update(stableJson(policy)).digest('hex').slice(0, 16);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson((value as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Parses policy text; returns the policy or the issues with their places in the text. */
export function parsePolicy(text: string): { policy?: Policy; issues: PolicyIssue[]; document: Document } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (start: number, end: number) => {
    const pos = lineCounter.linePos(start);
    return { start, end, line: pos.line, col: pos.col };
  };
  const issues: PolicyIssue[] = document.errors.map((e) => ({ message: e.message.split('\n')[0], path: [], range: at(e.pos[0], e.pos[1]) }));
  if (issues.length) return { issues, document };
  const data = document.toJS() ?? {};
  const result = policySchema.safeParse(data);
  if (result.success) return { policy: result.data, issues, document };
  for (const issue of result.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const node = nodeAt(document, path, issue.code === 'unrecognized_keys' ? (issue as any).keys?.[0] : undefined);
    const range = node ? at(node[0], node[1]) : at(0, 0);
    issues.push({ message: issue.code === 'unrecognized_keys' ? `Unknown key "${(issue as any).keys.join('", "')}"${path.length ? ` in ${path.join('.')}` : ''}` : `${path.join('.') || 'policy'}: ${issue.message}`, path, range });
  }
  return { issues, document };
}

/** Source range of the node at a key path (or of the key `key` inside it). */
function nodeAt(document: Document, path: readonly (string | number)[], key?: string): [number, number] | undefined {
  let node: any = document.contents;
  let range: [number, number] | undefined = node?.range ? [node.range[0], node.range[1]] : undefined;
  for (const segment of [...path, ...(key !== undefined ? [key] : [])]) {
    if (isMap(node)) {
      const pair = node.items.find((p: any) => String(p.key?.value ?? p.key) === String(segment));
      if (!pair) break;
      const target: any = segment === key && key !== undefined ? pair.key : pair.value ?? pair.key;
      range = target?.range ? [target.range[0], target.range[1]] : range;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      range = node?.range ? [node.range[0], node.range[1]] : range;
    } else break;
  }
  return range;
}

/** Loads the workspace's policy, or the defaults when it has none. A broken file is an error that says where. */
export function loadPolicy(workspace: string): LoadedPolicy {
  const file = join(workspace, POLICY_FILE);
  if (!existsSync(file)) {
    const policy = defaultPolicy();
    return { policy, hash: policyHash(policy) };
  }
  const { policy, issues } = parsePolicy(readFileSync(file, 'utf8'));
  if (!policy) {
    const list = issues.slice(0, 5).map((i) => `${file}:${i.range.line}:${i.range.col}: ${i.message}`).join('\n    ');
    throw new PaddockError(`The policy file is not valid:\n    ${list}`, `Fix ${file} (the Paddock policy editor and "paddock policy check" show each problem in place), or move it away to use the defaults. Nothing was changed.`);
  }
  return { policy, file, hash: policyHash(policy) };
}
