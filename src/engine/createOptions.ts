import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../core/policy.js';
import { bridgePaths, writeSecretFile } from './stateFolder.js';
import { readCaCertificate, type KeptCaCertificate, type TemplateOptions } from './templates.js';

/**
 * The options a sandbox was created with on the command line or by the editor (`-e`, `--env-file`,
 * `--cpus`, `--memory`, `--pids`, `-p`, `--template`, `--no-inject-keys`, and what its template was
 * built with: `--base-image`, `--ca-cert`, `--no-host-ca`), kept so that an apply
 * (a new container from the current policy, ./apply.ts) does not silently drop them.
 *
 * Rules, per thing (an env variable, a limit, the port list, the template):
 * - given again on this apply: the new value;
 * - else the policy now sets it otherwise than when it was given: the policy (the user changed it
 *   since: the newer act wins, and it stops being an option of the sandbox);
 * - else: the value it was created with.
 *
 * Kept on the host in the sandbox's state folder (0600, never mounted into the sandbox: only the
 * user changes the cage), with resolved values (an env file may be gone by the next apply; `-e NAME`
 * keeps the host value it had at create; a CA certificate keeps the content it had). The template's
 * build options matter at every start too: a sandbox built on another base image is compared with
 * the template built the same way, or a plain `paddock run` would call its template changed.
 */

export interface GivenOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cpus?: string;
  readonly memory?: string;
  readonly pids?: string;
  readonly ports?: readonly string[];
  readonly template?: string;
  readonly injectKeys?: false;
  readonly baseImage?: string;
  /** Given explicitly (`--ca-cert`; empty: `--no-host-ca`); undefined: the host's extra CAs at each build. */
  readonly caCertificates?: readonly KeptCaCertificate[];
}

/** What the policy said about each kept thing when it was given (JSON text; "null" for nothing). */
interface PolicyThen {
  readonly env: Readonly<Record<string, string>>;
  readonly cpus?: string;
  readonly memory?: string;
  readonly pids?: string;
  readonly ports?: string;
}

export interface CreateOptionsRecord {
  readonly version: 1;
  readonly given: GivenOptions;
  readonly policyThen: PolicyThen;
}

type PolicyPart = Pick<Policy, 'env' | 'resources' | 'ports'>;

const LIMITS = ['cpus', 'memory', 'pids'] as const;
const FLAG: Record<(typeof LIMITS)[number], string> = { cpus: '--cpus', memory: '--memory', pids: '--pids' };

const asText = (v: unknown) => JSON.stringify(v ?? null);

function createOptionsFile(sandboxName: string): string {
  return join(bridgePaths(sandboxName).dir, 'create-options.json');
}

/** The options of a request, as they are kept (strings; env resolved). Undefined fields were not given. */
export function givenOptions(request: { cpus?: string | number; memory?: string | number; pids?: string | number; ports?: readonly (string | number)[]; template?: string; injectKeys?: boolean; templateOptions?: TemplateOptions }, env: Readonly<Record<string, string>>): GivenOptions {
  const given: { -readonly [K in keyof GivenOptions]: GivenOptions[K] } = {};
  if (Object.keys(env).length) given.env = { ...env };
  for (const key of LIMITS) if (request[key] !== undefined && request[key] !== '') given[key] = String(request[key]);
  if (request.ports?.length) given.ports = request.ports.map(String);
  if (request.template) given.template = request.template;
  if (request.injectKeys === false) given.injectKeys = false;
  const build = request.templateOptions;
  if (build?.baseImage) given.baseImage = build.baseImage;
  if (build?.caCertificates) given.caCertificates = build.caCertificates.map((c) => typeof c === 'string' ? { file: c, base64: readCaCertificate(c).toString('base64') } : c);
  return given;
}

/**
 * What the sandbox's template is built with: this request's build options, else (a start, an apply)
 * those it was created with (`createdWith`, the kept record's options).
 */
export function buildOptionsFor(requested: TemplateOptions | undefined, given: GivenOptions, createdWith?: GivenOptions): TemplateOptions {
  const baseImage = given.baseImage ?? createdWith?.baseImage;
  const caCertificates = given.caCertificates ?? createdWith?.caCertificates;
  return { ...requested, ...(baseImage ? { baseImage } : {}), ...(caCertificates ? { caCertificates } : {}) };
}

/** The record of `given` against the policy it is applied with. */
export function recordOf(given: GivenOptions, policy: PolicyPart): CreateOptionsRecord {
  const env: Record<string, string> = {};
  for (const name of Object.keys(given.env ?? {})) env[name] = asText(policy.env[name]);
  const then: { -readonly [K in keyof PolicyThen]: PolicyThen[K] } = { env };
  for (const key of LIMITS) if (given[key] !== undefined) then[key] = asText(policy.resources[key]);
  if (given.ports) then.ports = asText(policy.ports);
  return { version: 1, given, policyThen: then };
}

export function readCreateOptions(sandboxName: string): CreateOptionsRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(createOptionsFile(sandboxName), 'utf8'));
    return record?.version === 1 && record.given && record.policyThen ? record : undefined;
  } catch {
    return undefined;
  }
}

export function writeCreateOptions(sandboxName: string, record: CreateOptionsRecord): void {
  writeSecretFile(createOptionsFile(sandboxName), `${JSON.stringify(record)}\n`);
}

export interface KeptOptions {
  /** The options the new container is made with (this apply's, then the kept ones). */
  readonly given: GivenOptions;
  /** For the user: what was kept, and what the policy took over. */
  readonly notes: string[];
}

/**
 * The options of an apply: this apply's `now`, then the `record`'s where the policy did not change
 * the same thing since (see the rules above). `sandbox` names it in the notes.
 */
export function keepCreateOptions(sandbox: string, record: CreateOptionsRecord | undefined, now: GivenOptions, policy: PolicyPart): KeptOptions {
  if (!record) {
    return { given: now, notes: [`${sandbox} was created before Paddock kept the options given at create: options given then (-e, --cpus, --memory, -p...) and not given to this apply are the policy's or the defaults now.`] };
  }
  const kept: string[] = [];
  const taken: string[] = [];
  const old = record.given;
  const then = record.policyThen;

  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(old.env ?? {})) {
    if (now.env && name in now.env) continue;
    if (asText(policy.env[name]) !== (then.env[name] ?? 'null')) taken.push(`env ${name}`);
    else {
      env[name] = value;
      kept.push(`-e ${name}`);
    }
  }
  const given: { -readonly [K in keyof GivenOptions]: GivenOptions[K] } = {};
  const mergedEnv = { ...env, ...now.env };
  if (Object.keys(mergedEnv).length) given.env = mergedEnv;

  for (const key of LIMITS) {
    if (now[key] !== undefined) given[key] = now[key];
    else if (old[key] !== undefined) {
      if (asText(policy.resources[key]) !== (then[key] ?? 'null')) taken.push(`resources.${key}`);
      else {
        given[key] = old[key];
        kept.push(`${FLAG[key]} ${old[key]}`);
      }
    }
  }
  if (now.ports) given.ports = now.ports;
  else if (old.ports) {
    if (asText(policy.ports) !== (then.ports ?? 'null')) taken.push('ports');
    else {
      given.ports = old.ports;
      kept.push(...old.ports.map((p) => `-p ${p}`));
    }
  }
  // Not in a policy: kept until given otherwise.
  if (now.template) given.template = now.template;
  else if (old.template) {
    given.template = old.template;
    kept.push(`--template ${old.template}`);
  }
  if (now.injectKeys === false || old.injectKeys === false) given.injectKeys = false;
  if (old.injectKeys === false) kept.push('--no-inject-keys');
  if (now.baseImage) given.baseImage = now.baseImage;
  else if (old.baseImage) {
    given.baseImage = old.baseImage;
    kept.push(`--base-image ${old.baseImage}`);
  }
  if (now.caCertificates) given.caCertificates = now.caCertificates;
  else if (old.caCertificates) {
    given.caCertificates = old.caCertificates;
    kept.push(...(old.caCertificates.length ? old.caCertificates.map((c) => `--ca-cert ${c.file}`) : ['--no-host-ca']));
  }

  const notes: string[] = [];
  if (kept.length) notes.push(`Kept the options ${sandbox} was created with: ${kept.join(', ')} (give others to "paddock apply" to change them).`);
  if (taken.length) notes.push(`The policy changed ${taken.join(', ')} since ${sandbox} was given ${taken.length === 1 ? 'it' : 'them'} at create: the policy's ${taken.length === 1 ? 'value applies' : 'values apply'} now.`);
  return { given, notes };
}
