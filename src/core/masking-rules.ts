/**
 * The masking rules as data: Paddock's own (whole tokens, then values by their context), and the
 * vendor patterns ported from gitleaks (masking-gitleaks.ts) as the floor of coverage. Each rule
 * names the lower-case literals one of which its match always contains: the masker runs a rule
 * only on lines that have one (see masking-scan.ts), which keeps it fast on ordinary logs.
 */
import { KeywordScanner } from './masking-scan.js';
import { entropy } from './secret-scan.js';
import { GITLEAKS_GLOBAL_ALLOW, GITLEAKS_RULES, type PortedAllow, type PortedRule } from './masking-gitleaks.js';

export const MASK = '[MASKED]';

export interface Rule {
  readonly name: string;
  /** Global. */
  readonly re: RegExp;
  /** Lower-case literals; a line has one of them wherever the rule can match. */
  readonly keywords: readonly string[];
  /**
   * For a rule whose keywords are too common to find its lines by ("key", "api"), or that has
   * none (a file format's shape): a global regex run over the whole text instead, which V8 does
   * natively and fast; the rule then runs on the lines it finds.
   */
  readonly probe?: RegExp;
  /** Rewrites one match; default replaces it with MASK. */
  readonly replace?: (match: string, ...groups: string[]) => string;
}

/** Expands `api[_-]?key` into apikey, api_key, api-key (keywords are literals). */
function spellings(word: string): string[] {
  const m = /^(.*?)\[_-\]\?(.*)$/.exec(word);
  if (!m) return [word];
  return spellings(m[2]).flatMap((rest) => ['', '_', '-'].map((sep) => `${m[1]}${sep}${rest}`));
}

/** The words that make a key name secret, as regex pieces; `[_-]?` is the only pattern allowed in them. */
const SECRET_WORDS = [
  'passwd', 'password', 'passphrase', 'pwd', 'secret', 'token', 'api[_-]?key', 'access[_-]?key', 'private[_-]?key',
  'credential', 'auth[_-]?key', 'session[_-]?key', 'signing[_-]?key', 'encryption[_-]?key', 'account[_-]?key',
  'shared[_-]?access[_-]?key', 'shared[_-]?access[_-]?signature', 'key[_-]?data', 'client[_-]?key',
];
/** Key names whose values are secrets (env, YAML, JSON, INI, query strings). */
export const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*(?:${SECRET_WORDS.join('|')})[A-Za-z0-9_.-]*`;
export const SECRET_KEYWORDS = SECRET_WORDS.flatMap(spellings);

/** The shell's working folders (`env` prints them): names with "pwd" in them that hold a path, not a password. */
export const WORKING_FOLDER_NAME = /^(?:OLD)?PWD$/;

/** Leaves values that are clearly not secrets (already masked, stars, ${VAR} references, PWD=/a/folder). */
function keepPlaceholders(match: string, head: string, value: string): string {
  if (WORKING_FOLDER_NAME.test(head.replace(/["']?[ \t]*[=:][ \t]*$/, '')) && value.startsWith('/')) return match;
  return value === MASK || value === `"${MASK}"` || /^["']?[*x•]+["']?$/i.test(value) || /^["']?\$\{?[A-Za-z_]+\}?["']?$/.test(value) ? match : `${head}${MASK}`;
}

const maskGroup2 = (_m: string, head: string) => `${head}${MASK}`;

/** Cookie attributes are not secret; every other name=value pair of a Cookie header is. */
const COOKIE_ATTRIBUTE = /^(?:path|domain|expires|max-age|secure|httponly|samesite|priority|partitioned|version|comment)$/i;
function maskCookiePairs(_m: string, head: string, pairs: string): string {
  return head + pairs.replace(/([^=;,\s]+)(\s*=\s*)([^;\s]*)/g, (pair, name, eq, value) => (COOKIE_ATTRIBUTE.test(name) || !value || value === MASK ? pair : `${name}${eq}${MASK}`));
}

/** Base64-looking values of a JSON `"data": {...}` object (a Kubernetes Secret printed on one line). */
function maskDataObject(_m: string, head: string, body: string): string {
  return head + body.replace(/("[^"]+"\s*:\s*)"([A-Za-z0-9+/_-]{4,}={0,2})"/g, (_p, key) => `${key}"${MASK}"`);
}

const WEBHOOK_HOSTS = String.raw`hooks\.slack\.com\/(?:services|workflows|triggers)|(?:[\w-]+\.)?discord(?:app)?\.com\/api\/webhooks|[\w-]+\.webhook\.office\.com\/webhookb2|outlook\.office(?:365)?\.com\/webhook|[\w.-]+\/hooks(?=\/[a-z0-9]{20,})`;

/** Whole tokens with a recognisable shape, Paddock's own list (the ported list adds many vendors). */
const TOKEN_RULES: readonly Rule[] = [
  { name: 'anthropic-key', re: /\bsk-ant-[A-Za-z0-9_-]{8,}/g, keywords: ['sk-ant-'] },
  { name: 'openai-key', re: /\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{8,}/g, keywords: ['sk-proj-', 'sk-svcacct-', 'sk-admin-'] },
  { name: 'openai-key', re: /\bsk-[A-Za-z0-9]{20,}\b/g, keywords: ['sk-'] },
  { name: 'stripe-key', re: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}/g, keywords: ['_live_', '_test_'] },
  { name: 'github-token', re: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g, keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'] },
  { name: 'github-token', re: /\bgithub_pat_[A-Za-z0-9_]{20,}/g, keywords: ['github_pat_'] },
  { name: 'gitlab-token', re: /\bglpat-[A-Za-z0-9_-]{20,}/g, keywords: ['glpat-'] },
  { name: 'aws-key-id', re: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g, keywords: ['akia', 'asia', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva'] },
  { name: 'google-key', re: /\bAIza[0-9A-Za-z_-]{35}/g, keywords: ['aiza'] },
  { name: 'slack-token', re: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, keywords: ['xox'] },
  { name: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g, keywords: ['npm_'] },
  { name: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, keywords: ['eyj'] },
];

/** Before the ported list, whose webhook rules mask the whole URL: here the host stays readable. */
const WEBHOOK_RULES: readonly Rule[] = [
  // Chat webhooks carry their credential in the path: keep the host readable, mask the rest.
  { name: 'webhook-url', re: new RegExp(String.raw`(https?:\/\/(?:${WEBHOOK_HOSTS})\/)([^\s"'<>]+)`, 'gi'), keywords: ['hooks.slack.com', '/api/webhooks', 'webhook.office.com', 'office.com/webhook', 'office365.com/webhook', '/hooks/'], replace: maskGroup2 },
];

/** Values found by their context: a URL's shape, a header, a key name, a file format. */
const CONTEXT_RULES: readonly Rule[] = [
  // Signed URLs (S3, GCS, Azure SAS, CloudFront) and their headers.
  // The separator may be escaped: `\u0026` (Go's JSON), `%26`/`%3F` and `%3D` (a URL inside a URL's query).
  { name: 'signed-url', re: /((?:[?&;]|\b|\\u0026|%26|%3F)(?:x-amz-signature|x-amz-security-token|x-goog-signature|x-ms-signature)["']?\s*(?:[=:]|%3D)\s*["']?)([^&\s"'#<>;,\\]+)/gi, keywords: ['x-amz-signature', 'x-amz-security-token', 'x-goog-signature', 'x-ms-signature'], replace: maskGroup2 },
  { name: 'signed-url', re: /((?:[?&;]|\\u0026|%26|%3F)(?:sig|signature)(?:=|%3D))([^&\s"'#<>;\\]+)/gi, keywords: ['sig=', 'signature=', 'sig%3d', 'signature%3d'], replace: maskGroup2 },
  // Azure connection strings: AccountKey=...; SharedAccessSignature=sv=...&sig=...;
  { name: 'connection-string', re: /(\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|SharedSecretValue)\s*=\s*)([^;\s"']+)/gi, keywords: ['accountkey', 'sharedaccesskey', 'sharedaccesssignature', 'sharedsecretvalue'], replace: maskGroup2 },
  // Set-Cookie: name=value; attributes  /  Cookie: a=1; b=2  /  curl --cookie 'a=1'
  { name: 'cookie', re: /(\bset-cookie["']?\s*[:=]\s*["']?[^=;\s"']+\s*=\s*)([^;\s"']+)/gi, keywords: ['set-cookie'], replace: maskGroup2 },
  { name: 'cookie', re: /((?<!set-)(?:\bcookies?["']?\s*[:=]|--cookie(?:=|\s+)|\s-b\s+(?=["']?[^\s=;]+=))\s*["']?)([^\r\n"']*=[^\r\n"']*)/gi, keywords: ['cookie', ' -b '], replace: maskCookiePairs },
  // Netscape cookie jar (curl -c): domain flag path secure expiry name value, tab-separated.
  { name: 'cookie', re: /^(\S+\t(?:TRUE|FALSE)\t\S+\t(?:TRUE|FALSE)\t\d+\t[^\t]+\t)(.+)$/gi, keywords: ['\ttrue\t', '\tfalse\t'], replace: maskGroup2 },
  // netrc: machine host login user password secret (one line or one token per line).
  { name: 'netrc', re: /(\b(?:machine\s+\S+|default)\b.*?\b(?:password|passwd|account)\s+)(\S+)/gi, keywords: ['machine', 'default'], replace: maskGroup2 },
  { name: 'netrc', re: /^(\s*(?:password|passwd|account)\s+)(\S+)\s*$/gi, keywords: ['password', 'passwd', 'account'], replace: maskGroup2 },
  // pgpass: host:port:database:user:password, a whole line.
  { name: 'pgpass', re: /^(\s*[^\s:#]+:(?:\d{1,5}|\*):[^\s:]+:[^\s:]+:)(\S.*)$/g, keywords: [], probe: /:(?:\d{1,5}|\*):[^\s:]+:[^\s:]+:\S/g, replace: maskGroup2 },
  // Docker config.json "auth": "base64(user:password)", .npmrc _auth=...
  { name: 'docker-auth', re: /(["']?\b_?auth["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s"',;}]+)/gi, keywords: ['auth'], replace: (m, head, value) => keepPlaceholders(m, head, value) },
  // A Kubernetes Secret's data printed as one JSON object.
  { name: 'kubernetes-secret', re: /("(?:data|stringData)"\s*:\s*\{)([^{}]*)/gi, keywords: ['"data"', '"stringdata"'], replace: maskDataObject },
  // scheme://user:password@host — any scheme (postgres, mysql, mongodb+srv, redis, amqp, https...)
  { name: 'url-credentials', re: /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^:@\/\s"'<>]*):([^@\/\s"'<>]+)@/g, keywords: ['://'], replace: (_m, scheme, user) => `${scheme}${user}:${MASK}@` },
  { name: 'authorization', re: /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest|negotiate|apikey)?\s*)([^\s"',;]+)/gi, keywords: ['authorization'], replace: maskGroup2 },
  { name: 'authorization', re: /\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]{8,}=*)/gi, keywords: ['bearer', 'basic'], replace: (_m, kind, space) => `${kind}${space}${MASK}` },
  // "password": "x"  /  'api_key': 'x'
  { name: 'secret-assignment', re: new RegExp(String.raw`(["'](?:${SECRET_KEY})["']\s*:\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`, 'gi'), keywords: SECRET_KEYWORDS, replace: (_m, head) => `${head}"${MASK}"` },
  // PASSWORD=x, export API_KEY="x", --password=x, ?token=x: the value ends at whitespace
  {
    name: 'secret-assignment',
    re: new RegExp(String.raw`(\b${SECRET_KEY}["']?[ \t]*=[ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'&,;}]+)`, 'gi'),
    keywords: SECRET_KEYWORDS,
    replace: keepPlaceholders,
  },
  // password: x (YAML, logs): the value may have spaces, up to a few words
  {
    name: 'secret-assignment',
    re: new RegExp(String.raw`(\b${SECRET_KEY}["']?[ \t]*:(?!//)[ \t]*)("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s"'&,;}]+(?:[ \t]+[^\s"'&,;}]+){0,8})`, 'gi'),
    keywords: SECRET_KEYWORDS,
    replace: keepPlaceholders,
  },
];

interface CompiledAllow {
  readonly regexes: readonly RegExp[];
  readonly target?: 'match' | 'line';
  /** Whether the secret holds a stopword, found in one pass (gitleaks' generic rule has about 1,500). */
  readonly hasStopword?: (secret: string) => boolean;
}

const compileAllow = (a: PortedAllow): CompiledAllow => {
  const words = a.stopwords;
  // The scanner's tables are built at the first candidate secret, not when the module loads: that
  // took 35-50 ms of every process that loads the masker (the bridge host, the editor), match or not.
  let scanner: KeywordScanner | undefined;
  return {
    regexes: (a.regexes ?? []).map((r) => new RegExp(r.re, r.flags)),
    target: a.target,
    hasStopword: words?.length
      ? (secret) => (scanner ??= new KeywordScanner(words.map((w) => [w, 0]))).firstHit(secret, 0, secret.length) >= 0
      : undefined,
  };
};
const GLOBAL_ALLOW = compileAllow(GITLEAKS_GLOBAL_ALLOW);

function allowed(allow: CompiledAllow, secret: string, match: string, line: string): boolean {
  const target = allow.target === 'match' ? match : allow.target === 'line' ? line : secret;
  if (allow.regexes.some((re) => re.test(target))) return true;
  return !!allow.hasStopword?.(secret);
}

/**
 * Literals that every match of a ported rule contains and that are rarer than gitleaks' keyword:
 * the rule then runs on fewer lines with the same result ("ey" is in every "key").
 */
const RARER_KEYWORDS: Record<string, readonly string[]> = { jwt: ['.ey'] };
/** Ported rules whose keywords are common words: their lines are found by their own pattern (see Rule.probe). */
const PROBED = new Set(['generic-api-key']);

/** A ported rule as a masking rule: the secret (its group) is replaced, the label around it stays. */
function fromPorted(rule: PortedRule): Rule {
  const allows = [GLOBAL_ALLOW, ...(rule.allow ?? []).map(compileAllow)];
  return {
    name: rule.id,
    re: new RegExp(rule.re, `g${rule.flags ?? ''}`),
    keywords: RARER_KEYWORDS[rule.id] ?? rule.keywords,
    ...(PROBED.has(rule.id) ? { probe: new RegExp(rule.re, `g${rule.flags ?? ''}`) } : {}),
    replace: (match: string, ...args: unknown[]) => {
      const line = args[args.length - 1] as string;
      const groups = args.slice(0, -2) as (string | undefined)[];
      const secret = (rule.secretGroup ? groups[rule.secretGroup - 1] : groups.find((g) => g)) || match;
      if (rule.entropy !== undefined && entropy(secret) <= rule.entropy) return match;
      if (secret.includes(MASK) || allows.some((a) => allowed(a, secret, match, line))) return match;
      return match.split(secret).join(MASK);
    },
  };
}

/** The patterns, most specific first: whole tokens, the ported vendor list, then values by context. */
export const RULES: readonly Rule[] = [...TOKEN_RULES, ...WEBHOOK_RULES, ...GITLEAKS_RULES.map(fromPorted), ...CONTEXT_RULES];
