import { normalizeHost, specialRange, targetText, type EgressTarget } from './egress.js';

/**
 * Questions about unknown hosts: a request to a host that no rule names (the policy's "deny" for
 * everything else decided it) makes the sandbox's proxy ask the user, once per host and rate
 * limited, instead of refusing in silence. Pure: the proxy keeps the book, the host reads its file.
 *
 * The proxy writes the whole book as one file (questions.json, atomically) into its log folder: the
 * host reads it, the sandbox never sees it. A question is answered only by a user action that
 * changes the live rules (an allow or deny rule naming the host, or "deny all others"): the proxy
 * then drops it. Nothing in the file changes a rule; it only lists what to ask.
 */

/** What the agent sees meanwhile: refuse at once (403 saying the user was asked), hold the request, or never ask. */
export type AskMode = 'refuse' | 'hold' | 'off';
export const ASK_MODES: readonly AskMode[] = ['refuse', 'hold', 'off'];
export const DEFAULT_ASK_MODE: AskMode = 'refuse';
export const DEFAULT_HOLD_SECONDS = 30;
export const MAX_HOLD_SECONDS = 300;

export interface AskSettings {
  readonly mode: AskMode;
  readonly holdSeconds: number;
}

/** The policy's network.ask / network.askHoldSeconds with their defaults. */
export function askSettingsOf(network: { readonly ask?: AskMode; readonly askHoldSeconds?: number }): AskSettings {
  return { mode: network.ask ?? DEFAULT_ASK_MODE, holdSeconds: Math.min(MAX_HOLD_SECONDS, Math.max(1, Math.round(network.askHoldSeconds ?? DEFAULT_HOLD_SECONDS))) };
}

export interface Question {
  /** The host as the proxy normalised it (punycode, lower case, dotted IPv4): the rule an answer writes. */
  readonly host: string;
  /** The port of the first request (an answer covers every port). */
  readonly port: number;
  /** CONNECT (HTTPS) or the HTTP method of the first request. */
  readonly method: string;
  readonly askedAt: string;
  readonly lastAt: string;
  /** Requests to it since it was asked. */
  readonly requests: number;
}

/** Hosts refused without a question because questions were rate limited: the "deny all others" offer. */
export interface Flood {
  /** Distinct hosts not asked about (counted up to FLOOD_COUNT_MAX). */
  readonly hosts: number;
  /** The first few of them, for the offer's text. */
  readonly examples: readonly string[];
  readonly since: string;
}

export interface QuestionsFile {
  readonly version: 1;
  readonly sandbox: string;
  /** When this proxy process started: questions belong to one run of the sandbox. */
  readonly startedAt: string;
  readonly mode: AskMode;
  readonly holdSeconds: number;
  /** The user chose "deny all others" for this run: no more questions. */
  readonly quiet: boolean;
  readonly questions: readonly Question[];
  readonly flood?: Flood;
  readonly writtenAt: string;
}

export interface AskLimits {
  /** Questions that may be asked at once (the bucket's size). */
  readonly burst: number;
  /** One more question may be asked after this long. */
  readonly refillMs: number;
  /** Unanswered questions at most: past this, hosts are refused without a question. */
  readonly maxOpen: number;
}

export const DEFAULT_ASK_LIMITS: AskLimits = { burst: 3, refillMs: 20_000, maxOpen: 5 };
const FLOOD_COUNT_MAX = 10_000; // the proxy has 256 MiB: names kept for the count stay a few MiB at most
const FLOOD_EXAMPLES = 5;
/** Past this size the host refuses a questions file (the proxy never writes one near it). */
export const QUESTIONS_MAX_BYTES = 256 * 1024;

/**
 * Whether a request's target may raise a question: a name, or a public IP literal. A special address
 * (loopback, private, link-local, metadata...) never does: the user is not asked to open those.
 */
export function askable(target: EgressTarget): boolean {
  return target.kind === 'name' || !specialRange(target.ip, target.family);
}

export type AskOutcome =
  /** A new question: the host was not asked about before. */
  | 'asked'
  /** Already asked and not answered yet. */
  | 'pending'
  /** Refused without a question: too many questions just now (counted in the flood). */
  | 'limited'
  /** Refused without a question: the user chose "deny all others", or asking is off. */
  | 'quiet';

/**
 * The proxy's book of questions for one run of a sandbox. One question per host; new questions
 * come from a token bucket (burst, then one per refill period) and at most maxOpen wait at once,
 * so a flood of hosts gives a few questions and a count of the rest.
 */
export class QuestionBook {
  private readonly open = new Map<string, Question>();
  private tokens: number;
  private refilledAt: number;
  private readonly flooded = new Set<string>();
  private floodCount = 0;
  private floodSince?: string;
  private settings: AskSettings = { mode: DEFAULT_ASK_MODE, holdSeconds: DEFAULT_HOLD_SECONDS };
  private quiet = false;
  readonly startedAt: string;

  constructor(readonly sandbox: string, private readonly limits: AskLimits = DEFAULT_ASK_LIMITS, private readonly now: () => number = Date.now) {
    this.tokens = limits.burst;
    this.refilledAt = now();
    this.startedAt = new Date(now()).toISOString();
  }

  get mode(): AskMode {
    return this.quiet ? 'off' : this.settings.mode;
  }

  get holdSeconds(): number {
    return this.settings.holdSeconds;
  }

  /** New settings from the host's rules file. Returns whether the file should be written again. */
  configure(settings: AskSettings, quiet: boolean): boolean {
    const changed = settings.mode !== this.settings.mode || settings.holdSeconds !== this.settings.holdSeconds || quiet !== this.quiet;
    this.settings = settings;
    this.quiet = quiet;
    if (quiet || settings.mode === 'off') {
      // Nothing waits for an answer any more: the rules decide alone.
      const had = this.open.size > 0 || this.floodCount > 0;
      this.open.clear();
      this.clearFlood();
      return changed || had;
    }
    return changed;
  }

  /** A request to `host` that no rule names. */
  ask(host: string, port: number, method: string): AskOutcome {
    if (this.mode === 'off') return 'quiet';
    const at = new Date(this.now()).toISOString();
    const known = this.open.get(host);
    if (known) {
      this.open.set(host, { ...known, lastAt: at, requests: known.requests + 1 });
      return 'pending';
    }
    this.refill();
    if (this.tokens < 1 || this.open.size >= this.limits.maxOpen) {
      if (!this.flooded.has(host) && this.floodCount < FLOOD_COUNT_MAX) {
        this.flooded.add(host);
        this.floodCount++;
        this.floodSince ??= at;
      }
      return 'limited';
    }
    this.tokens--;
    if (this.flooded.delete(host) && --this.floodCount <= 0) this.clearFlood();
    this.open.set(host, { host, port, method, askedAt: at, lastAt: at, requests: 1 });
    return 'asked';
  }

  /**
   * Drops the questions the new rules answer (`decided` says whether a rule now names the host),
   * and the flooded hosts they answer. Returns whether anything was dropped.
   */
  answered(decided: (host: string, port: number) => boolean): boolean {
    let dropped = false;
    for (const q of [...this.open.values()]) if (decided(q.host, q.port)) { this.open.delete(q.host); dropped = true; }
    for (const host of [...this.flooded]) if (decided(host, 443)) { this.flooded.delete(host); this.floodCount--; dropped = true; }
    if (this.floodCount <= 0) this.clearFlood();
    return dropped;
  }

  isOpen(host: string): boolean {
    return this.open.has(host);
  }

  snapshot(): QuestionsFile {
    const examples = [...this.flooded].slice(0, FLOOD_EXAMPLES);
    return {
      version: 1, sandbox: this.sandbox, startedAt: this.startedAt, mode: this.settings.mode, holdSeconds: this.settings.holdSeconds, quiet: this.quiet,
      questions: [...this.open.values()],
      ...(this.floodCount > 0 ? { flood: { hosts: this.floodCount, examples, since: this.floodSince! } } : {}),
      writtenAt: new Date(this.now()).toISOString(),
    };
  }

  private refill(): void {
    const now = this.now();
    // A full bucket earns nothing: its clock starts when the first token is spent, so a burst long
    // after the book was made is still only `burst` questions.
    if (this.tokens >= this.limits.burst) { this.refilledAt = now; return; }
    const earned = Math.floor((now - this.refilledAt) / this.limits.refillMs);
    if (earned <= 0) return;
    this.tokens = Math.min(this.limits.burst, this.tokens + earned);
    this.refilledAt = this.tokens === this.limits.burst ? now : this.refilledAt + earned * this.limits.refillMs;
  }

  private clearFlood(): void {
    this.flooded.clear();
    this.floodCount = 0;
    this.floodSince = undefined;
  }
}

export class QuestionsFileError extends Error {}

const isTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));

/** A host as the proxy would have written it: normalised, nothing else (the file passed through a process that handles the sandbox's input). */
function checkedHost(v: unknown): string {
  if (typeof v !== 'string' || v.length > 260) throw new QuestionsFileError('a question names no valid host');
  let target: EgressTarget;
  try {
    target = normalizeHost(v);
  } catch {
    throw new QuestionsFileError(`"${v.slice(0, 80)}" is not a host`);
  }
  const text = targetText(target);
  if (text !== v || !askable(target)) throw new QuestionsFileError(`"${v.slice(0, 80)}" is not a host a question may name`);
  return text;
}

/**
 * Parses the proxy's questions file strictly (the host shows what it says to the user): hosts must
 * be normalised and askable, sizes are bounded; anything else refuses the whole file.
 */
export function parseQuestionsFile(text: string): QuestionsFile {
  if (Buffer.byteLength(text) > QUESTIONS_MAX_BYTES) throw new QuestionsFileError(`larger than ${QUESTIONS_MAX_BYTES} bytes`);
  let data: any;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new QuestionsFileError(`not JSON (${(err as Error).message})`);
  }
  if (!data || typeof data !== 'object' || data.version !== 1) throw new QuestionsFileError('not a version 1 questions file');
  if (typeof data.sandbox !== 'string' || !isTime(data.startedAt) || !isTime(data.writtenAt)) throw new QuestionsFileError('sandbox, startedAt or writtenAt is missing');
  if (!ASK_MODES.includes(data.mode) || typeof data.holdSeconds !== 'number' || typeof data.quiet !== 'boolean') throw new QuestionsFileError('mode, holdSeconds or quiet is not valid');
  if (!Array.isArray(data.questions) || data.questions.length > 100) throw new QuestionsFileError('"questions" must be a short list');
  const questions: Question[] = data.questions.map((q: any) => {
    if (!q || typeof q !== 'object' || !Number.isInteger(q.port) || q.port < 1 || q.port > 65535) throw new QuestionsFileError('a question has no valid port');
    if (typeof q.method !== 'string' || !/^[A-Z]{1,16}$/.test(q.method)) throw new QuestionsFileError('a question has no valid method');
    if (!isTime(q.askedAt) || !isTime(q.lastAt) || !Number.isInteger(q.requests)) throw new QuestionsFileError('a question has no valid times');
    return { host: checkedHost(q.host), port: q.port, method: q.method, askedAt: q.askedAt, lastAt: q.lastAt, requests: q.requests };
  });
  let flood: Flood | undefined;
  if (data.flood !== undefined) {
    const f = data.flood;
    if (!f || !Number.isInteger(f.hosts) || f.hosts < 1 || !Array.isArray(f.examples) || f.examples.length > 20 || !isTime(f.since)) throw new QuestionsFileError('"flood" is not valid');
    flood = { hosts: f.hosts, examples: f.examples.map(checkedHost), since: f.since };
  }
  return {
    version: 1, sandbox: data.sandbox.slice(0, 200), startedAt: data.startedAt, mode: data.mode, holdSeconds: data.holdSeconds, quiet: data.quiet,
    questions, ...(flood ? { flood } : {}), writtenAt: data.writtenAt,
  };
}

/** The 403 body's explanation for a host the user was asked about (or not asked, and why). */
export function askedReason(outcome: AskOutcome, settings: { mode: AskMode; holdSeconds: number }, held?: 'timeout'): string {
  const answer = 'On the host, "paddock network pending" lists the questions and "paddock network allow SANDBOX HOST" answers one (VS Code asks in a notification).';
  if (held === 'timeout') return `Paddock asked the user whether to allow this host and held the request ${settings.holdSeconds} s: no answer came. Try again once they answer. ${answer}`;
  if (outcome === 'asked' || outcome === 'pending') return `No rule names this host: Paddock asked the user whether to allow it. Try again once they answer. ${answer}`;
  if (outcome === 'limited') return 'No rule names this host, and too many hosts were asked about just now: it was refused without a question (the user sees how many). "paddock network allow SANDBOX HOST" on the host allows it.';
  return 'No rule names this host (network.policy deny). On the host, "paddock network allow SANDBOX HOST" allows it now (--save also writes the policy); "paddock network log" shows every decision.';
}
