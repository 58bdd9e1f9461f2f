import { PaddockError } from './errors.js';

/**
 * API keys stay outside the sandbox. The agent's client is pointed (by its own base-URL variable) at
 * the sandbox's egress proxy, with a placeholder key; the proxy drops whatever credential the client
 * sends and adds the real key, read from a host file the sandbox cannot see, on its way to the one
 * upstream configured for that provider. The agent can use the key; it can never read it.
 */

export const KEY_PROVIDER_IDS = ['anthropic', 'openai', 'gemini'] as const;
export type KeyProviderId = (typeof KEY_PROVIDER_IDS)[number];

/** What the agent sees instead of a key. Long enough for clients that check a key's shape loosely. */
export const KEY_PLACEHOLDER = 'paddock-key-injected-outside-the-sandbox';

interface HostKey {
  /** The host variable holding the key. */
  readonly env: string;
  /** The header it is sent in upstream. */
  readonly header: string;
  readonly bearer?: boolean;
}

export interface KeyProvider {
  readonly id: KeyProviderId;
  readonly label: string;
  /** Host variables holding a key, in order of preference. */
  readonly keys: readonly HostKey[];
  /** The variable the agent's client reads its base URL from (on the host: a custom upstream). */
  readonly baseUrlEnv: string;
  readonly defaultUpstream: string;
  /** The variable that carries the placeholder in the sandbox. */
  readonly sandboxKeyEnv: string;
  /** A query parameter some clients send the key in: dropped on the way. */
  readonly keyQueryParam?: string;
}

export const KEY_PROVIDERS: Readonly<Record<KeyProviderId, KeyProvider>> = {
  anthropic: {
    id: 'anthropic', label: 'Anthropic (Claude Code)',
    keys: [{ env: 'ANTHROPIC_API_KEY', header: 'x-api-key' }, { env: 'ANTHROPIC_AUTH_TOKEN', header: 'authorization', bearer: true }],
    baseUrlEnv: 'ANTHROPIC_BASE_URL', defaultUpstream: 'https://api.anthropic.com',
    // As a bearer token: Claude Code asks no "use this API key?" question for it.
    sandboxKeyEnv: 'ANTHROPIC_AUTH_TOKEN',
  },
  openai: {
    id: 'openai', label: 'OpenAI (Codex)',
    keys: [{ env: 'OPENAI_API_KEY', header: 'authorization', bearer: true }],
    baseUrlEnv: 'OPENAI_BASE_URL', defaultUpstream: 'https://api.openai.com/v1',
    sandboxKeyEnv: 'OPENAI_API_KEY',
  },
  gemini: {
    id: 'gemini', label: 'Google Gemini (Gemini CLI)',
    keys: [{ env: 'GEMINI_API_KEY', header: 'x-goog-api-key' }, { env: 'GOOGLE_API_KEY', header: 'x-goog-api-key' }],
    baseUrlEnv: 'GOOGLE_GEMINI_BASE_URL', defaultUpstream: 'https://generativelanguage.googleapis.com',
    sandboxKeyEnv: 'GEMINI_API_KEY', keyQueryParam: 'key',
  },
};

/** Request headers that carry a client's credential: never forwarded, whatever the sandbox sends. */
export const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'x-api-key', 'x-goog-api-key', 'api-key'] as const;

/** One key as the proxy uses it (the host file holds these, by provider). */
export interface InjectedKey {
  readonly provider: KeyProviderId;
  /** The host variable it came from (for the log and for people; never the value). */
  readonly source: string;
  /** Base URL requests go to: path and query of the sandbox's request are appended. */
  readonly upstream: string;
  readonly header: string;
  readonly value: string;
}

export interface KeyInjectionPlan {
  readonly keys: readonly InjectedKey[];
  /** Variables for the sandbox: each provider's base URL (the proxy) and placeholder key. */
  readonly sandboxEnv: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
}

function upstreamFrom(provider: KeyProvider, value: string | undefined): string {
  const text = (value ?? '').trim() || provider.defaultUpstream;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new PaddockError(`${provider.baseUrlEnv}="${text}" on the host is not a URL.`, `Set it to an http(s) URL, or unset it to use ${provider.defaultUpstream}. Nothing was created.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PaddockError(`${provider.baseUrlEnv}="${text}" on the host is not an http(s) URL.`, `Set it to an http(s) URL, or unset it. Nothing was created.`);
  }
  if (url.username || url.password) {
    throw new PaddockError(`${provider.baseUrlEnv} on the host carries credentials in the URL.`, `Put the key in ${provider.keys[0].env} instead. Nothing was created.`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}${url.search}`;
}

/**
 * The variables through which a user can give a provider's credential or endpoint to the sandbox
 * themselves: when one of them is set for the sandbox, Paddock leaves that provider alone.
 */
export function providerVariables(provider: KeyProvider): string[] {
  return [...new Set([...provider.keys.map((k) => k.env), provider.sandboxKeyEnv, provider.baseUrlEnv])];
}

/** The key a host environment holds for one provider, if any. */
export function hostKeyFor(provider: KeyProvider, hostEnv: Readonly<Record<string, string | undefined>>): InjectedKey | undefined {
  for (const key of provider.keys) {
    const value = hostEnv[key.env]?.trim();
    if (!value) continue;
    return {
      provider: provider.id, source: key.env, upstream: upstreamFrom(provider, hostEnv[provider.baseUrlEnv]),
      header: key.header, value: key.bearer ? `Bearer ${value}` : value,
    };
  }
  return undefined;
}

/**
 * Which keys the sandbox's proxy injects. A provider is left alone when the host has no key for it,
 * or when the sandbox's own environment (-e, --env-file, the policy's env) sets its key or base URL:
 * the user asked for that explicitly.
 * `proxyBase` is how the sandbox reaches the injecting proxy ("http://paddock-egress:3130").
 */
export function planKeyInjection(hostEnv: Readonly<Record<string, string | undefined>>, sandboxEnv: Readonly<Record<string, string>>, proxyBase: string): KeyInjectionPlan {
  const keys: InjectedKey[] = [];
  const env: Record<string, string> = {};
  const notes: string[] = [];
  for (const id of KEY_PROVIDER_IDS) {
    const provider = KEY_PROVIDERS[id];
    const found = hostKeyFor(provider, hostEnv);
    if (!found) continue;
    const own = providerVariables(provider).filter((name) => name in sandboxEnv);
    if (own.length) {
      notes.push(`${own.join(', ')} ${own.length > 1 ? 'are' : 'is'} set for the sandbox, so Paddock does not inject the ${provider.label} key: a key passed in is readable by the agent. Drop it to keep ${found.source} outside.`);
      continue;
    }
    keys.push(found);
    env[provider.baseUrlEnv] = `${proxyBase}/${id}`;
    env[provider.sandboxKeyEnv] = KEY_PLACEHOLDER;
  }
  return { keys, sandboxEnv: env, notes };
}

/** The providers named in a sandbox's label ("anthropic,openai"). */
export function parseProviderList(text: string | undefined): KeyProviderId[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s): s is KeyProviderId => (KEY_PROVIDER_IDS as readonly string[]).includes(s));
}

/**
 * The upstream URL for a request the sandbox sent to the injecting proxy as `/<provider><rest>`.
 * The upstream's origin is fixed; a rest that would leave its base path ("..", also encoded) or
 * is not a path is refused, and the provider's key query parameter is dropped.
 */
export function upstreamUrl(key: Pick<InjectedKey, 'upstream'>, rest: string, keyQueryParam?: string): URL | undefined {
  // A fragment is never sent, and "#" after ".." lets the URL parser remove a dot-segment the check
  // below would not see ("/..#").
  if ((rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) || rest.includes('#')) return undefined;
  const base = new URL(key.upstream);
  const [path, ...q] = rest.split('?');
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path) || /%2f|%5c|\\/i.test(path)) return undefined;
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${basePath}${path}`);
  if (url.origin !== base.origin) return undefined;
  // What is sent, as the parser made it, stays below the base path.
  if (basePath && url.pathname !== basePath && !url.pathname.startsWith(`${basePath}/`)) return undefined;
  let query = q.join('?');
  if (keyQueryParam && new URLSearchParams(query).has(keyQueryParam)) {
    const kept = new URLSearchParams(query);
    kept.delete(keyQueryParam);
    query = kept.toString();
  }
  // The query as the client wrote it (re-encoding could change what the upstream sees).
  url.search = [base.search.slice(1), query].filter(Boolean).join('&');
  return url;
}
