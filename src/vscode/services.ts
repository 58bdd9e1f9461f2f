// The heavy half of the extension (engine, policy schema, drift, policy editor), loaded right
// after activation by extension.ts. It registers nothing that package.json contributes: it hands
// back handlers, and extension.ts (which registered every contribution at activation) delegates.
import * as vscode from 'vscode';
import { describeError } from '../core/errors.js';
import { SandboxEngine } from '../engine/engine.js';
import { BridgeActivity } from './bridgeActivity.js';
import { BridgeHosts } from './bridgeHosts.js';
import { addSandboxActions, commandHandlers, type CommandHandler, type Services } from './commands.js';
import { DriftDiagnostics } from './drift/diagnostics.js';
import { HostRunFiles } from './hostRunFiles.js';
import { OPEN_POLICY_EDITOR_COMMAND, openPolicyEditor, PolicyEditorProvider, POLICY_EDITOR_VIEW_TYPE } from './policyEditor/policyEditor.js';
import { terminalProfileProviders } from './profiles.js';
import { ENGINE_SETTINGS, endpointInputs } from './settings.js';
import type { DeferredSandboxSource } from './source.js';
import { SandboxStore } from './store.js';
import { AgentTerminals } from './terminals.js';
import { NetworkActivity } from './networkActivity.js';
import { NetworkQuestions } from './networkQuestions.js';
import { registerTreeActions } from './treeActions.js';
import { offeredComposeProjects } from './treeModel.js';
import { UsageSampler } from '../engine/containerTools.js';
import type { SampleUsage } from './usage.js';
import { taskCommands, TaskStore } from './tasks.js';

export interface LoadedServices {
  readonly commands: ReadonlyMap<string, CommandHandler>;
  readonly terminalProfiles: ReadonlyMap<string, vscode.TerminalProfileProvider>;
  readonly customEditors: ReadonlyMap<string, vscode.CustomTextEditorProvider>;
  /** CPU and memory of running sandboxes, for the tree (usage.ts). */
  readonly sampleUsage: SampleUsage;
}

export function startServices(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, source: DeferredSandboxSource): LoadedServices {
  const logs = vscode.window.createOutputChannel('Paddock Sandbox Logs');
  const makeEngine = () => {
    try {
      return SandboxEngine.connect(endpointInputs());
    } catch (err) {
      // A broken dockerHost/dockerContext setting: say so, and fall back to the default engine.
      log.error(`${describeError(err)} Using the default engine.`);
      return SandboxEngine.connect({});
    }
  };
  const store = new SandboxStore(makeEngine, log);
  // Network Activity view; it tells the terminals and the tree what the proxies refused.
  const network = new NetworkActivity(store, log, context.workspaceState);
  const terminals = new AgentTerminals(() => store.engine, network);
  const services: Services = { store, terminals, log, logs };
  // The tree reads the sandboxes and the open folders' tasks (tasks.ts).
  const tasks = new TaskStore(store, log);
  const questions = new NetworkQuestions(store, () => store.engine, log); // asks about hosts no rule names
  source.attach(questions.withQuestions(network.withRefusals(tasks)));

  const commands = commandHandlers(services);
  const taskParts = taskCommands(services, tasks);
  for (const [id, handler] of taskParts.handlers) commands.set(id, handler);
  for (const [id, handler] of network.commands()) commands.set(id, handler);
  commands.set(OPEN_POLICY_EDITOR_COMMAND, (arg?: unknown) => openPolicyEditor(arg));
  // The bridge of each running sandbox of this window, hosted while VS Code is open.
  const bridges = new BridgeHosts(store, log);
  const activity = new BridgeActivity(store, log);
  commands.set('paddock.showBridgeActivity', async (arg?: unknown) => activity.show(arg));
  context.subscriptions.push(
    logs, store, network, questions, tasks, ...taskParts.disposables, terminals, activity, bridges,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (ENGINE_SETTINGS.some((s) => e.affectsConfiguration(s))) store.reconnect();
    }),
    // Drift warnings in agent configs and the policy, with quick fixes (their command is registered there).
    ...new DriftDiagnostics(store, log).start(),
    // A warning with the diff when a running sandbox writes a file the host runs (tasks, hooks, .envrc).
    new HostRunFiles(source, log).start(),
    registerTreeActions(log, (workspace) => offeredComposeProjects(store.sandboxes, workspace)),
    addSandboxActions(services, commands),
  );
  store.start();
  const usage = new UsageSampler(() => store.engine.docker);
  return {
    commands,
    sampleUsage: (ids) => usage.sample(ids),
    terminalProfiles: terminalProfileProviders(services),
    customEditors: new Map([[POLICY_EDITOR_VIEW_TYPE, new PolicyEditorProvider(context.extensionUri, log)]]),
  };
}
