// Questions about unknown hosts, in the editor: when a sandbox's proxy asks about a host no rule
// names (src/core/networkQuestions.ts), a notification names the sandbox, its agent and the host,
// with Allow once / Always allow / Deny; a flood of hosts gets one "Deny all others" offer. The
// Sandboxes tree marks a sandbox while a question waits. Only these buttons (user actions) write rules.
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { getAgent, isAgentId } from '../core/agents.js';
import { describeError } from '../core/errors.js';
import { isInside } from '../core/paths.js';
import type { Question, QuestionsFile } from '../core/networkQuestions.js';
import type { SandboxEngine } from '../engine/engine.js';
import { answerQuestion, questionsFile, readQuestions, type AnswerOutcome, type QuestionAnswer } from '../engine/networkQuestions.js';
import { DisposableOwner } from './lifecycle.js';
import type { SandboxSource } from './source.js';
import type { SandboxView } from './treeModel.js';
import { showErrorMessage, showInformationMessage, showWarningMessage } from './notify.js';

export const ALLOW_ONCE = 'Allow once';
export const ALWAYS_ALLOW = 'Always allow';
export const DENY = 'Deny';
export const DENY_OTHERS = 'Deny all others';
/** A safety net for folder watches that miss a change (a log folder made after the watch, Docker Desktop mounts). */
const POLL_MS = 1500;

const agentName = (agent: string) => (isAgentId(agent) ? getAgent(agent).label : agent || 'unknown agent');

export class NetworkQuestions extends DisposableOwner implements vscode.Disposable {
  /** The last questions file read, by sandbox (running sandboxes only). */
  private readonly files = new Map<string, QuestionsFile>();
  private readonly watchers = new Map<string, FSWatcher>();
  /** Questions and flood offers already shown (sandbox, run, host): each is asked once. */
  private readonly shown = new Set<string>();
  private readonly changed = this.register(new vscode.EventEmitter<void>());

  constructor(private readonly source: SandboxSource, private readonly engine: () => SandboxEngine, private readonly log: vscode.LogOutputChannel) {
    super();
    this.register(source.onDidChange(() => this.follow()));
    this.register(vscode.workspace.onDidChangeWorkspaceFolders(() => this.follow()));
    const timer = setInterval(() => this.readAll(), POLL_MS);
    this.register({ dispose: () => clearInterval(timer) });
    this.register({ dispose: () => { for (const w of this.watchers.values()) w.close(); this.watchers.clear(); } });
    this.follow();
  }

  /** Hosts a sandbox's proxy waits on an answer for (0 when none). */
  waiting(sandbox: string): number {
    const file = this.files.get(sandbox);
    return file && !file.quiet ? file.questions.length : 0;
  }

  /** The source as the tree sees it: each sandbox with the number of questions it waits on. */
  withQuestions<S extends SandboxSource>(source: S): S {
    const changed = this.register(new vscode.EventEmitter<void>());
    this.register(source.onDidChange(() => changed.fire()));
    this.register(this.changed.event(() => changed.fire()));
    const withAsking = (v: SandboxView): SandboxView => {
      const asking = this.waiting(v.details.name);
      return asking ? { ...v, asking } : v;
    };
    return new Proxy(source, {
      get(target, prop) {
        if (prop === 'sandboxes') return target.sandboxes.map(withAsking);
        if (prop === 'onDidChange') return changed.event;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  /** Running sandboxes of this window's folders (all of them when no folder is open): another window asks about its own. */
  private running(): SandboxView[] {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    return this.source.sandboxes.filter((v) => v.details.status === 'running' && (!folders.length || folders.some((f) => isInside(v.details.workspace, f))));
  }

  /** Watches the log folder of each running sandbox (the proxy replaces questions.json by rename). */
  private follow(): void {
    const names = new Set(this.running().map((v) => v.details.name));
    for (const [name, w] of this.watchers) if (!names.has(name)) { w.close(); this.watchers.delete(name); }
    for (const name of names) {
      if (this.watchers.has(name)) continue;
      try {
        const w = watch(dirname(questionsFile(name)), { persistent: false }, (_e, file) => { if (!file || file === 'questions.json') this.read(name); });
        w.on('error', () => { w.close(); this.watchers.delete(name); });
        this.watchers.set(name, w);
      } catch {
        // no log folder (no proxy): the poll looks again
      }
    }
    this.readAll();
  }

  private readAll(): void {
    const names = new Set(this.running().map((v) => v.details.name));
    let changed = false;
    for (const name of [...this.files.keys()]) if (!names.has(name)) { this.files.delete(name); changed = true; }
    for (const name of names) changed = this.read(name, false) || changed;
    if (changed) this.changed.fire();
  }

  /** Reads one sandbox's questions; asks what is new. Returns whether what the tree shows changed. */
  private read(name: string, fire = true): boolean {
    const before = this.waiting(name);
    const file = readQuestions(name);
    if (file) this.files.set(name, file);
    else this.files.delete(name);
    const view = this.source.sandboxes.find((v) => v.details.name === name);
    if (file && view && !file.quiet) {
      for (const q of file.questions) {
        const key = `${name}\n${file.startedAt}\n${q.host}`;
        if (this.shown.has(key)) continue;
        this.shown.add(key);
        void this.ask(view, q);
      }
      const floodKey = `${name}\n${file.startedAt}\nflood`;
      if (file.flood && !this.shown.has(floodKey)) {
        this.shown.add(floodKey);
        void this.offerDenyOthers(view, file);
      }
    }
    const changed = before !== this.waiting(name);
    if (changed && fire) this.changed.fire();
    return changed;
  }

  private async ask(view: SandboxView, q: Question): Promise<void> {
    const d = view.details;
    this.log.info(`Network question: ${d.name} (${d.agent}) asks to reach ${q.host}:${q.port}`);
    const choice = await showWarningMessage(
      `${agentName(d.agent)} in sandbox ${d.name} wants to reach ${q.host} (port ${q.port}), which no network rule names. Allow it?`,
      { detail: `Allow once: for this run of the sandbox. Always allow: written into .paddock/policy.yaml. Deny: written as a deny rule.` },
      ALLOW_ONCE, ALWAYS_ALLOW, DENY,
    );
    const answer: QuestionAnswer | undefined = choice === ALLOW_ONCE ? 'once' : choice === ALWAYS_ALLOW ? 'always' : choice === DENY ? 'deny' : undefined;
    if (answer) await this.answer(d.name, answer, q.host);
  }

  private async offerDenyOthers(view: SandboxView, file: QuestionsFile): Promise<void> {
    const d = view.details;
    const flood = file.flood!;
    const choice = await showWarningMessage(
      `${agentName(d.agent)} in sandbox ${d.name} tried ${flood.hosts} more host${flood.hosts === 1 ? '' : 's'} no rule names (e.g. ${flood.examples.slice(0, 3).join(', ')}): too many to ask about, so they were refused.`,
      DENY_OTHERS,
    );
    if (choice === DENY_OTHERS) await this.answer(d.name, 'deny-others');
  }

  private async answer(sandbox: string, answer: QuestionAnswer, host?: string): Promise<void> {
    try {
      const outcome = await answerQuestion(this.engine(), sandbox, answer, host);
      this.log.info(`Network question of ${sandbox} answered: ${answer}${host ? ` ${host}` : ''}${outcome.policyFile ? ` (${outcome.policyFile})` : ''}`);
      void showInformationMessage(describeOutcome(outcome));
      this.read(sandbox);
    } catch (err) {
      this.log.error(`Answering the network question of ${sandbox} failed: ${describeError(err)}`);
      void showErrorMessage(`Paddock: ${describeError(err)}`);
    }
  }
}

export function describeOutcome(o: AnswerOutcome): string {
  const when = o.inForceAfterMs !== undefined ? ` In force after ${o.inForceAfterMs} ms.` : '';
  switch (o.answer) {
    case 'once': return `Allowed ${o.host} for ${o.sandbox} until it stops.${when}`;
    case 'always': return `Always allowed ${o.host}: written into ${o.policyFile} and applied to ${o.approvedFor.join(', ')}.${when}`;
    case 'deny': return o.savedForThisRunOnly
      ? `Denied ${o.host} for ${o.sandbox} until it stops; not written into the policy: ${o.savedForThisRunOnly}`
      : `Denied ${o.host}: written into ${o.policyFile}.${when}`;
    default: return `No more questions from ${o.sandbox} until it stops: hosts no rule names are refused.${when}`;
  }
}
