import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import * as vscode from 'vscode';
import { AGENT_IDS, AGENTS, getAgent, type AgentId } from '../core/agents.js';
import { describeError, PaddockError } from '../core/errors.js';
import { POLICY_FILE } from '../core/policy.js';
import { prepareSandbox, RecreateNeeded, type PreparedSandbox, type SandboxRequest } from '../engine/sandboxes.js';
import { startNotes } from '../engine/startNotes.js';
import { taskAt, taskRequest, type TaskOptions } from '../engine/tasks.js';
import { verifySandbox } from '../engine/verify.js';
import { currentFolder, defaultAgent, requestSettings } from './settings.js';
import type { SandboxStore } from './store.js';
import type { AgentTerminals } from './terminals.js';
import { isInside } from '../core/paths.js';
import type { TreeNode } from './treeModel.js';
import { policyFolderOf } from './taskModel.js';
import { DockerActions } from './dockerActions.js';
import { showErrorMessage, showInformationMessage, showWarningMessage, withProgress } from './notify.js';

export interface Services {
  readonly store: SandboxStore;
  readonly terminals: AgentTerminals;
  readonly log: vscode.LogOutputChannel;
  readonly logs: vscode.OutputChannel;
}

/** A sandbox as commands receive it: a tree node, or picked from a list. */
interface SandboxRef {
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly agent: string;
  readonly status: string;
}

export class Cancelled extends Error {}

/** Runs a command; errors become one message (what is wrong, what to do) with a way to the log. */
export function guarded<A extends unknown[]>(services: Services, fn: (...args: A) => Promise<unknown> | unknown) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof Cancelled) {
        services.log.info('Cancelled');
        return;
      }
      const text = describeError(err);
      services.log.error(text);
      const message = err instanceof PaddockError ? `${err.message}${err.hint ? ` ${err.hint}` : ''}` : text;
      const choice = await showErrorMessage(`Paddock: ${message}`, 'Show Log');
      if (choice === 'Show Log') services.log.show(true);
    }
  };
}

/** The workspace folder a command acts on: the one given, the only one, or the user's pick. */
export async function pickFolder(arg?: unknown): Promise<vscode.WorkspaceFolder> {
  if (arg instanceof vscode.Uri) {
    const f = vscode.workspace.getWorkspaceFolder(arg);
    if (f) return f;
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (!folders.length) throw new PaddockError('No folder is open.', 'Open your project folder (File > Open Folder...), then run the agent again.');
  if (folders.length === 1) return folders[0];
  const active = vscode.window.activeTextEditor && vscode.workspace.getWorkspaceFolder(vscode.window.activeTextEditor.document.uri);
  const picked = await vscode.window.showWorkspaceFolderPick({ placeHolder: `Workspace folder for the sandbox${active ? ` (current: ${active.name})` : ''}` });
  if (!picked) throw new Cancelled();
  return picked;
}

/**
 * The sandbox a command acts on: the tree node it was given; else (from the palette) the only one
 * it can act on, or the user's pick (this window's first); none is said as such, not as an error.
 */
export async function pickSandbox(services: Services, arg: unknown, want: (s: SandboxRef) => boolean, verb: string): Promise<SandboxRef> {
  const node = arg as TreeNode | undefined;
  if (node?.sandbox) return node.sandbox;
  await services.store.reload();
  const all = services.store.sandboxes.map((v) => v.details);
  const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const mine = (d: SandboxRef) => folders.some((f) => isInside(d.workspace, f));
  // This window's sandboxes when it has any to act on; other folders' only when it has none.
  const able = all.filter(want);
  const candidates = (able.some(mine) ? able.filter(mine) : able).sort((a, b) => a.name.localeCompare(b.name));
  if (!candidates.length) {
    const message = all.length ? `Paddock: no sandbox to ${verb} (${all.length === 1 ? `the one sandbox is ${all[0].status}` : `none of the ${all.length} sandboxes is in a state for it`}).` : `Paddock: there is no sandbox to ${verb} yet.`;
    const run = all.length ? undefined : 'Run Claude in Sandbox';
    void showInformationMessage(message, ...(run ? [run] : [])).then((c) => c && vscode.commands.executeCommand('paddock.runClaude'));
    throw new Cancelled();
  }
  if (candidates.length === 1) return candidates[0];
  const picked = await vscode.window.showQuickPick(candidates.map((d) => ({
    label: d.name, description: `${d.agent} · ${d.status}${mine(d) ? '' : ' · other folder'}`, detail: d.workspace, d,
  })), { placeHolder: `Sandbox to ${verb}` });
  if (!picked) throw new Cancelled();
  return picked.d;
}

/**
 * Creates or reuses and starts the sandbox of (folder, agent) with the same engine code as the
 * CLI's `run`, showing a cancellable notification and streaming the build log to the output.
 */
export async function prepareWithProgress(services: Services, agentId: AgentId, folder: vscode.WorkspaceFolder, recreate = false, task?: TaskOptions): Promise<PreparedSandbox> {
  const agent = getAgent(agentId);
  const s = requestSettings(folder.uri);
  return withProgress({ location: vscode.ProgressLocation.Notification, title: recreate ? `Paddock: applying changes to the ${agent.label} sandbox (its state is kept)` : `Paddock: preparing the ${agent.label} sandbox`, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    const onProgress = (line: string) => {
      services.log.info(line);
      if (/^(Building|Step \d+\/\d+|Creating|Starting|Applying|Saving)/.test(line)) progress.report({ message: line.length > 90 ? `${line.slice(0, 90)}…` : line });
    };
    const request: SandboxRequest = {
      agent: agentId, workspace: folder.uri.fsPath, runtime: s.runtime, cpus: s.cpus, memory: s.memory, pids: s.pids, recreate, injectKeys: s.injectKeys,
      templateOptions: { baseImage: s.baseImage, caCertificates: s.caCertificates, onProgress, signal: controller.signal },
    };
    services.log.info(`Preparing the ${agent.id} sandbox for ${folder.uri.fsPath}`);
    // A task's folder (an Apply from the tree) is prepared as its task: its labels, the workspace's policy.
    task ??= ((t) => t && { task: t.name })(taskAt(folder.uri.fsPath));
    try {
      // A task's sandbox (tasks.ts): the task is created or continued, and the request points at its folder.
      const prepared = await prepareSandbox(services.store.engine, task ? (await taskRequest(services.store.engine, request, task, onProgress)).request : request, onProgress);
      showNotes(services, prepared.notes);
      if (controller.signal.aborted) throw new Cancelled();
      return prepared;
    } catch (err) {
      if (controller.signal.aborted) throw new Cancelled();
      throw err;
    } finally {
      sub.dispose();
      services.store.scheduleReload();
    }
  }).then(undefined, async (err) => {
    if (err instanceof RecreateNeeded && !recreate) {
      const choice = await showWarningMessage(err.message, { modal: true, detail: 'A new container that keeps the sandbox\'s state (installed packages, the agent\'s home). The workspace itself is not touched.' }, 'Apply');
      if (choice === 'Apply') return prepareWithProgress(services, agentId, folder, true, task && { task: task.task });
      throw new Cancelled();
    }
    throw err;
  });
}

/** Notes from the engine (what the CLI prints as "note: ..."): in the log, and as warnings. */
function showNotes(services: Services, notes: readonly string[]): void {
  for (const note of notes) {
    services.log.warn(note);
    void showWarningMessage(`Paddock: ${note}`);
  }
}

async function runAgent(services: Services, agentId: AgentId, arg?: unknown): Promise<void> {
  const folder = await pickFolder(arg);
  const prepared = await prepareWithProgress(services, agentId, folder);
  services.log.info(`${prepared.created ? 'Created' : 'Using'} sandbox ${prepared.sandbox.name}`);
  services.terminals.attach(prepared.sandbox.name, agentId, { workspaceName: folder.name });
}

export type CommandHandler = (...args: any[]) => Promise<void>;

/** The handlers of the contributed commands, by id (extension.ts registers them at activation). */
export function commandHandlers(services: Services): Map<string, CommandHandler> {
  const { store, terminals, log } = services;
  const cmd = <A extends unknown[]>(id: string, fn: (...args: A) => Promise<unknown> | unknown): [string, CommandHandler] => [id, guarded(services, fn) as CommandHandler];

  const agentCommands: [string, AgentId][] = [['paddock.runClaude', 'claude'], ['paddock.runGemini', 'gemini'], ['paddock.runCodex', 'codex'], ['paddock.openShell', 'shell']];
  return new Map([
    ...agentCommands.map(([id, agent]) => cmd(id, (arg?: unknown) => runAgent(services, agent, arg))),

    cmd('paddock.createSandbox', async (arg?: unknown) => {
      const first = defaultAgent();
      const agents = [first, ...AGENT_IDS.filter((a) => a !== first)];
      const picked = await vscode.window.showQuickPick(agents.map((id) => ({ label: AGENTS[id].label, description: id === first ? 'default' : undefined, id })), { placeHolder: 'Agent of the new sandbox' });
      if (!picked) return;
      const folder = await pickFolder(arg);
      const prepared = await prepareWithProgress(services, picked.id, folder);
      const open = await showInformationMessage(`Paddock: sandbox ${prepared.sandbox.name} is ${prepared.created ? 'ready' : 'already there and running'}.`, 'Open Terminal');
      if (open) terminals.attach(prepared.sandbox.name, picked.id, { workspaceName: folder.name });
    }),

    cmd('paddock.attach', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, () => true, 'open a terminal in');
      if (s.status !== 'running') {
        await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: starting ${s.name}` }, () => store.engine.start(s.id));
      }
      terminals.attach(s.name, s.agent, { workspaceName: vscode.workspace.getWorkspaceFolder(vscode.Uri.file(s.workspace))?.name });
    }),

    cmd('paddock.stop', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, (x) => x.status === 'running' || x.status === 'paused', 'stop');
      if (!(await terminals.confirmStop(s.name))) return; // an attached agent would die with it: asked first
      await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: stopping ${s.name}` }, () => store.engine.stop(s.id));
      log.info(`Stopped ${s.name}`);
    }),

    cmd('paddock.start', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, (x) => x.status !== 'running', 'start');
      await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: starting ${s.name}` }, async () => {
        showNotes(services, await startNotes(store.engine, s));
        await store.engine.start(s.id);
      });
      log.info(`Started ${s.name}`);
      void terminals.offerReopen(s.name, s.agent, vscode.workspace.getWorkspaceFolder(vscode.Uri.file(s.workspace))?.name);
    }),

    cmd('paddock.remove', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, () => true, 'remove');
      const choice = await showWarningMessage(`Remove sandbox ${s.name}?`, {
        modal: true, detail: `Its state outside the workspace (installed tools, agent logins, shell history) is lost. The workspace ${s.workspace} is not touched.`,
      }, 'Remove');
      if (choice !== 'Remove') return;
      for (const t of terminals.terminalsOf(s.name)) t.dispose();
      await store.engine.remove(s.id);
      log.info(`Removed ${s.name}`);
    }),

    cmd('paddock.recreate', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, () => true, 'apply changes to');
      const choice = await showWarningMessage(`Apply changes to sandbox ${s.name} (state kept)?`, {
        modal: true, detail: 'A new container with the current settings and policy (hidden paths expanded again, the cage re-applied). Its state is kept: installed packages, the agent\'s home, caches. Open terminals close; the workspace is not touched.',
      }, 'Apply');
      if (choice !== 'Apply') return;
      for (const t of terminals.terminalsOf(s.name)) t.dispose();
      const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(s.workspace)) ?? { uri: vscode.Uri.file(s.workspace), name: s.workspace, index: -1 };
      const agent = (AGENT_IDS as readonly string[]).includes(s.agent) ? (s.agent as AgentId) : 'shell';
      const prepared = await prepareWithProgress(services, agent, folder, true);
      void showInformationMessage(`Paddock: changes applied to ${prepared.sandbox.name} (its state is kept).`);
    }),

    cmd('paddock.resetAll', async () => {
      // The list is read now and exactly it is removed: a sandbox made after the question stays.
      const listed = await store.engine.list();
      if (!listed.length) {
        void showInformationMessage('Paddock: there are no sandboxes to remove.');
        return;
      }
      const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
      const others = listed.filter((d) => !folders.some((f) => isInside(d.workspace, f)));
      const count = listed.length;
      const otherFolders = [...new Set(others.map((d) => d.workspace))];
      const detail = [
        others.length
          ? `${others.length} of them belong to other folders (made by the CLI or other windows): ${otherFolders.slice(0, 4).join(', ')}${otherFolders.length > 4 ? ` and ${otherFolders.length - 4} more` : ''}.`
          : 'All of them belong to this window\'s folders.',
        'Their state outside the workspaces (installed tools, agent logins, shell history) is lost. Workspaces are not touched.',
      ].join('\n\n');
      // The destructive button is not the default one: Enter shows the sandboxes instead.
      const show = { title: 'Show Them' };
      const removeAll = { title: 'Remove All' };
      const choice = await showWarningMessage(count === 1 ? 'Remove the one Paddock sandbox on this engine?' : `Remove all ${count} Paddock sandboxes on this engine?`, { modal: true, detail }, show, removeAll);
      if (choice === show) {
        await vscode.commands.executeCommand('paddock.showAllSandboxes');
        await vscode.commands.executeCommand('paddock.sandboxes.focus');
        return;
      }
      if (choice !== removeAll) return;
      const failed: string[] = [];
      await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: removing ${count} sandbox${count === 1 ? '' : 'es'}` }, async () => {
        for (const s of listed) {
          for (const t of terminals.terminalsOf(s.name)) t.dispose();
          // Removed meanwhile (another window, the CLI) is as good as removed here.
          if (!(await store.engine.exists(s.id))) continue;
          await store.engine.remove(s.id).catch((err) => failed.push(`${s.name}: ${describeError(err)}`));
        }
      });
      store.scheduleReload();
      log.info(`Reset All removed ${count - failed.length} of ${count}: ${listed.map((s) => s.name).join(', ')}`);
      if (failed.length) throw new PaddockError(`Could not remove ${failed.length} sandbox${failed.length === 1 ? '' : 'es'}: ${failed.join('; ')}.`, 'Try again, or run "paddock rm NAME".');
      void showInformationMessage(`Paddock: removed ${count} sandbox${count === 1 ? '' : 'es'}.`);
    }),

    cmd('paddock.showLogs', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, () => true, 'show the log of');
      const channel = services.logs;
      channel.clear();
      channel.appendLine(`# ${s.name} (${s.workspace}): output of the sandbox's main process`);
      const sink = new Writable({ write(chunk, _enc, done) { channel.append(chunk.toString()); done(); } });
      await store.engine.logs(s.id, { stdout: sink, stderr: sink, tail: 2000 });
      channel.show(true);
    }),

    cmd('paddock.verifyIsolation', async (arg?: unknown) => {
      const s = await pickSandbox(services, arg, (x) => x.status === 'running', 'verify');
      const report = await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: verifying ${s.name} from inside` }, () => verifySandbox(store.engine, s.id));
      log.info(`Verify ${report.sandbox}: ${report.checks.length} checks, ${report.failures.length} failed`);
      for (const c of report.checks) (c.ok ? log.info : log.error).call(log, `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.check} ${c.path}: ${c.detail}`);
      for (const n of report.notes) log.warn(n);
      if (report.ok) {
        void showInformationMessage(`Paddock: ${s.name} passed all ${report.checks.length} isolation checks.`, 'Show Details').then((c) => c && log.show(true));
      } else {
        const list = report.failures.slice(0, 3).map((f) => `${f.path} (${f.detail})`).join(', ');
        void showErrorMessage(`Paddock: ${report.failures.length} isolation check(s) failed in ${s.name}: ${list}${report.failures.length > 3 ? ', ...' : ''}. Apply it (a new container, its state kept) to hide them again.`, 'Show Details', 'Apply').then((c) => {
          if (c === 'Show Details') log.show(true);
          if (c === 'Apply') void vscode.commands.executeCommand('paddock.recreate', { sandbox: s });
        });
      }
    }),

    cmd('paddock.openPolicy', async (arg?: unknown) => {
      // A task (its row, or its sandbox's) is governed by its workspace's policy, not its folder's copy.
      const folderPath = policyFolderOf(arg as TreeNode | undefined, (folder) => taskAt(folder)?.source) ?? (await pickFolder(arg)).uri.fsPath;
      const file = join(folderPath, POLICY_FILE);
      if (!existsSync(file)) {
        const choice = await showInformationMessage(`${folderPath} has no ${POLICY_FILE}; the safe defaults apply.`, 'Create Policy File');
        if (choice !== 'Create Policy File') return;
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, DEFAULT_POLICY_TEXT, { flag: 'wx' });
      }
      await vscode.window.showTextDocument(vscode.Uri.file(file));
    }),

    cmd('paddock.refresh', () => store.reload()),
    cmd('paddock.retryConnection', () => store.reconnect()),
    cmd('paddock.showOutput', () => log.show()),

    cmd('paddock.showActions', async () => {
      const folder = currentFolder();
      const mine = store.sandboxes.map((v) => v.details).filter((d) => folder && isInside(d.workspace, folder.uri.fsPath));
      type Item = vscode.QuickPickItem & { run: () => Thenable<unknown> };
      const broken = store.sandboxes.find((v) => v.policyError && mine.includes(v.details));
      const items: Item[] = [
        ...(broken ? [{ label: '$(warning) Open Policy: the file does not load', description: 'the bridge takes no new rules until it does', run: () => vscode.commands.executeCommand('paddock.openPolicy', folder?.uri) }] : []),
        ...mine.filter((d) => d.status === 'running').map((d) => ({ label: `$(terminal) Open Terminal: ${d.agent}`, description: d.name, run: () => vscode.commands.executeCommand('paddock.attach', { sandbox: d }) })),
        ...mine.filter((d) => d.status === 'running').map((d) => ({ label: `$(debug-stop) Stop ${d.agent}`, description: d.name, run: () => vscode.commands.executeCommand('paddock.stop', { sandbox: d }) })),
        ...mine.filter((d) => d.status !== 'running').map((d) => ({ label: `$(debug-start) Start ${d.agent}`, description: d.name, run: () => vscode.commands.executeCommand('paddock.start', { sandbox: d }) })),
        { label: '$(sparkle) Run Claude in Sandbox', run: () => vscode.commands.executeCommand('paddock.runClaude', folder?.uri) },
        { label: '$(sparkle) Run Gemini in Sandbox', run: () => vscode.commands.executeCommand('paddock.runGemini', folder?.uri) },
        { label: '$(sparkle) Run Codex in Sandbox', run: () => vscode.commands.executeCommand('paddock.runCodex', folder?.uri) },
        { label: '$(terminal-bash) Open Shell in Sandbox', run: () => vscode.commands.executeCommand('paddock.openShell', folder?.uri) },
        { label: '$(shield) Open Policy', run: () => vscode.commands.executeCommand('paddock.openPolicy', folder?.uri) },
        { label: '$(list-tree) Show Sandboxes', run: () => vscode.commands.executeCommand('paddock.sandboxes.focus') },
      ];
      const picked = await vscode.window.showQuickPick(items, { placeHolder: folder ? `Paddock: ${folder.name}` : 'Paddock' });
      if (picked) await picked.run();
    }),
  ]);
}

/**
 * The palette's names of the commands that act on one sandbox: they say so ("Paddock: Stop
 * Sandbox...") and run the tree's command without a node, which acts on the only candidate or asks.
 * The tree's short names ("Stop") stay out of the palette (package.json "commandPalette").
 */
export const PALETTE_SANDBOX_COMMANDS: Readonly<Record<string, string>> = {
  'paddock.palette.attach': 'paddock.attach',
  'paddock.palette.stop': 'paddock.stop',
  'paddock.palette.start': 'paddock.start',
  'paddock.palette.restart': 'paddock.restart',
  'paddock.palette.remove': 'paddock.remove',
  'paddock.palette.recreate': 'paddock.recreate',
  'paddock.palette.showLogs': 'paddock.showLogs',
  'paddock.palette.followLogs': 'paddock.followLogs',
  'paddock.palette.inspect': 'paddock.inspect',
  'paddock.palette.verifyIsolation': 'paddock.verifyIsolation',
  'paddock.palette.copyName': 'paddock.copyName',
  'paddock.palette.copyId': 'paddock.copyId',
  'paddock.palette.openInBrowser': 'paddock.openInBrowser',
};

/** Adds the Docker-tool actions (dockerActions.ts) and the palette's sandbox commands to the handlers. */
export function addSandboxActions(services: Services, commands: Map<string, CommandHandler>): vscode.Disposable {
  const actions = new DockerActions(services, (arg, want, verb) => pickSandbox(services, arg, want, verb));
  for (const [id, fn] of actions.handlers()) commands.set(id, guarded(services, fn) as CommandHandler);
  for (const [paletteId, id] of Object.entries(PALETTE_SANDBOX_COMMANDS)) {
    commands.set(paletteId, async () => {
      const handler = commands.get(id);
      if (handler) await handler();
    });
  }
  return actions;
}

const DEFAULT_POLICY_TEXT = `# Paddock sandbox policy. Every key is optional; what is left out keeps its safe default.
# With the YAML extension, VS Code completes and checks this file (Paddock ships its JSON schema).
version: 1
# hide: ["**/.env", "**/.env.*", "!**/.env.example", "**/secrets/**"]
# tier: moderate
# network:
#   policy: deny
#   allow: []
`;
