import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PaddockError } from '../core/errors.js';
import { checkRuleText } from '../core/liveRules.js';
import { parseQuestionsFile, QUESTIONS_MAX_BYTES, type QuestionsFile } from '../core/networkQuestions.js';
import { egressPaths } from './egressFiles.js';
import type { SandboxEngine } from './engine.js';
import { networkInForce, setSessionQuiet, waitUntilInForce } from './liveRules.js';
import { changeNetworkRule } from './networkRuleChange.js';

/**
 * The host side of the questions about unknown hosts (src/core/networkQuestions.ts): reading what
 * a sandbox's proxy asks, and answering. The file is written by the proxy into its log folder (never
 * mounted in the sandbox) and only read here; an answer is always a user action that writes a rule:
 *   once         a rule for this run of the sandbox (gone when it stops)
 *   always       written into .paddock/policy.yaml (comments kept), approved, and in force live
 *   deny         a deny rule written into the policy the same way
 *   deny-others  no more questions from this sandbox until it stops: unknown hosts are refused
 */
export type QuestionAnswer = 'once' | 'always' | 'deny' | 'deny-others';

export function questionsFile(sandbox: string): string {
  return join(egressPaths(sandbox).logDir, 'questions.json');
}

/**
 * The questions a sandbox's proxy waits on, as it last wrote them; undefined when there is no file
 * (a proxy from before questions, or never started) or it is not a plain file the proxy would write.
 */
export function readQuestions(sandbox: string): QuestionsFile | undefined {
  const file = questionsFile(sandbox);
  try {
    const stat = lstatSync(file);
    if (!stat.isFile() || stat.size > QUESTIONS_MAX_BYTES) return undefined;
    const parsed = parseQuestionsFile(readFileSync(file, 'utf8'));
    return parsed.sandbox === sandbox ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a sandbox has something to ask: an open question, or hosts refused without one (the "deny all others" offer). */
export function hasQuestions(file: QuestionsFile | undefined): boolean {
  return !!file && !file.quiet && (file.questions.length > 0 || !!file.flood);
}

export interface AnswerOutcome {
  readonly sandbox: string;
  readonly answer: QuestionAnswer;
  readonly host?: string;
  /** The policy file written (always, deny). */
  readonly policyFile?: string;
  /** Sandboxes whose approved policy took the saved rule. */
  readonly approvedFor: readonly string[];
  /** Milliseconds until the proxy confirmed the change; undefined when it did not within 3 s (or is not running). */
  readonly inForceAfterMs?: number;
  /** Deny could not be written into the policy (it changed on disk without approval): denied for this run instead. */
  readonly savedForThisRunOnly?: string;
}

/**
 * Answers a question with a rule. `host` must be a host as the proxy wrote it (a question's host);
 * the answer works whether or not the question is still open (the CLI's allow/deny do the same).
 */
export async function answerQuestion(engine: SandboxEngine, sandboxRef: string, answer: QuestionAnswer, host?: string): Promise<AnswerOutcome> {
  if (answer === 'deny-others') {
    const sandbox = await engine.get(sandboxRef);
    const started = Date.now();
    const rules = setSessionQuiet(sandbox.name, (await networkInForce(engine.docker, sandbox.name)).network);
    const inForceAfterMs = sandbox.status === 'running' ? await waitUntilInForce(sandbox.name, rules.changedAt, started) : undefined;
    return { sandbox: sandbox.name, answer, approvedFor: [], inForceAfterMs };
  }
  if (!host) throw new PaddockError(`Answering "${answer}" needs the host it is about.`);
  const rule = checkRuleText(host);
  const source = `question answered: ${answer === 'once' ? 'allow once' : answer === 'always' ? 'always allow' : 'deny'}`;
  const list = answer === 'deny' ? 'deny' : 'allow';
  try {
    const change = await changeNetworkRule(engine, sandboxRef, list, rule, { save: answer !== 'once', source });
    return { sandbox: change.sandbox, answer, host: rule, policyFile: change.saved?.file, approvedFor: change.approvedFor, inForceAfterMs: change.inForceAfterMs };
  } catch (err) {
    // A deny is never lost because the file cannot take it now: it holds for this run (the safe side), and the user is told why.
    if (answer !== 'deny' || !(err instanceof PaddockError) || !/policy|\.paddock/.test(err.message)) throw err;
    const change = await changeNetworkRule(engine, sandboxRef, 'deny', rule, { source });
    return { sandbox: change.sandbox, answer, host: rule, approvedFor: [], savedForThisRunOnly: err.message, inForceAfterMs: change.inForceAfterMs };
  }
}
