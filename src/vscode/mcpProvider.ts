// Offers the MCP bridge to VS Code's chat (VS Code 1.101+: vscode.lm.registerMcpServerDefinitionProvider).
// The extension supports 1.100, whose API has no MCP types: they are declared here, and the API is
// looked up at run time; where it is missing the bridge is simply not offered (and the log says so).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { planBridgeServers, plansKey, type BridgeServerPlan } from '../core/bridgeServers.js';
import { endpointInputs, ENGINE_SETTINGS } from './settings.js';
import type { SandboxSource } from './source.js';

/** The id in package.json's contributes.mcpServerDefinitionProviders. */
export const BRIDGE_PROVIDER_ID = 'paddock.bridge';

// The part of the 1.101+ API used here (see vscode.d.ts of 1.101: McpStdioServerDefinition, lm).
type McpStdioServerDefinition = object;
interface McpStdioServerDefinitionConstructor {
  new (label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string): McpStdioServerDefinition;
}
interface McpServerDefinitionProvider {
  readonly onDidChangeMcpServerDefinitions?: vscode.Event<void>;
  provideMcpServerDefinitions(token: vscode.CancellationToken): vscode.ProviderResult<McpStdioServerDefinition[]>;
}
interface McpApi {
  readonly register: (id: string, provider: McpServerDefinitionProvider) => vscode.Disposable;
  readonly Definition: McpStdioServerDefinitionConstructor;
}

function mcpApi(): McpApi | undefined {
  const api = vscode as unknown as {
    lm?: { registerMcpServerDefinitionProvider?: (id: string, provider: McpServerDefinitionProvider) => vscode.Disposable };
    McpStdioServerDefinition?: McpStdioServerDefinitionConstructor;
  };
  const register = api.lm?.registerMcpServerDefinitionProvider;
  if (typeof register !== 'function' || typeof api.McpStdioServerDefinition !== 'function') return undefined;
  return { register: register.bind(api.lm), Definition: api.McpStdioServerDefinition };
}

const POLICY_PATH = join('.paddock', 'policy.yaml');

function policyText(folder: string): string | undefined {
  try {
    return readFileSync(join(folder, POLICY_PATH), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Registers the provider: one `paddock bridge --stdio --workspace FOLDER` per folder that has a
 * sandbox or a policy file, run by the editor's own node (ELECTRON_RUN_AS_NODE makes VS Code's
 * binary act as node) with the CLI bundled in the extension. Refreshed when sandboxes, folders,
 * a policy file or the engine settings change.
 */
export function registerBridgeServers(context: vscode.ExtensionContext, source: SandboxSource, log: vscode.LogOutputChannel): vscode.Disposable[] {
  const api = mcpApi();
  if (!api) {
    log.info(`VS Code ${vscode.version} has no MCP server API (1.101+): the Paddock bridge is not offered to chat. Other clients can run "paddock bridge --stdio".`);
    return [];
  }
  const changed = new vscode.EventEmitter<void>();
  const cli = { command: process.execPath, script: join(context.extensionPath, 'bin', 'paddock') };
  const plan = (): BridgeServerPlan[] => planBridgeServers(
    (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => ({ name: f.name, path: f.uri.fsPath })),
    source.sandboxes.map((s) => s.details.workspace),
    policyText,
    cli,
    endpointInputs(),
  );
  let lastKey = '';
  const refresh = () => {
    const plans = plan();
    const key = plansKey(plans);
    if (key === lastKey) return;
    lastKey = key;
    log.info(`MCP: offering ${plans.length} Paddock bridge server(s) to VS Code${plans.length ? `: ${plans.map((p) => p.label).join(', ')}` : ''}`);
    changed.fire();
  };
  const provider: McpServerDefinitionProvider = {
    onDidChangeMcpServerDefinitions: changed.event,
    provideMcpServerDefinitions: () => {
      const plans = plan();
      lastKey = plansKey(plans);
      return plans.map((p) => new api.Definition(p.label, p.command, [...p.args], { ELECTRON_RUN_AS_NODE: '1' }, p.version));
    },
  };
  // The folder too: a .paddock folder made together with its file may be reported as the folder alone.
  const policyWatcher = vscode.workspace.createFileSystemWatcher('**/{.paddock,.paddock/policy.yaml}');
  const registration = api.register(BRIDGE_PROVIDER_ID, provider);
  log.info(`MCP: registered the Paddock bridge server provider (${BRIDGE_PROVIDER_ID})`);
  refresh();
  return [
    registration, changed, policyWatcher,
    source.onDidChange(refresh),
    vscode.workspace.onDidChangeWorkspaceFolders(refresh),
    policyWatcher.onDidCreate(refresh), policyWatcher.onDidChange(refresh), policyWatcher.onDidDelete(refresh),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (ENGINE_SETTINGS.some((s) => e.affectsConfiguration(s))) refresh();
    }),
  ];
}
