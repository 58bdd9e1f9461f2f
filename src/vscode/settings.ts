import * as vscode from 'vscode';
import { AGENT_IDS, type AgentId } from '../core/agents.js';
import type { EndpointInputs } from '../engine/connection.js';
import type { SandboxRequest } from '../engine/sandboxes.js';

export const SECTION = 'paddock';

/** Settings that change which engine Paddock talks to: changing them reconnects. */
export const ENGINE_SETTINGS = ['paddock.dockerHost', 'paddock.dockerContext'];

function config(scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION, scope);
}

/** A value the user set somewhere (user, workspace or folder settings), not the contributed default. */
function explicit<T>(cfg: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const i = cfg.inspect<T>(key);
  return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
}

export function endpointInputs(): EndpointInputs {
  const cfg = config();
  const host = cfg.get<string>('dockerHost')?.trim();
  const context = cfg.get<string>('dockerContext')?.trim();
  return { host: host || undefined, context: context || undefined };
}

export function defaultAgent(): AgentId {
  const value = config().get<string>('defaultAgent') ?? 'claude';
  return (AGENT_IDS as readonly string[]).includes(value) ? (value as AgentId) : 'claude';
}

/**
 * The parts of a SandboxRequest that come from settings. Resource limits are passed only when
 * the user set them, so that a sandbox made with other limits (say by the CLI) is reused rather
 * than reported as needing a recreate because of a default.
 */
export function requestSettings(folder: vscode.Uri): Pick<SandboxRequest, 'runtime' | 'cpus' | 'memory' | 'pids' | 'injectKeys'> & { baseImage?: string; caCertificates?: string[] } {
  const cfg = config(folder);
  const runtime = cfg.get<string>('runtime')?.trim();
  // Only when set: the default would replace the base image a sandbox was created with at its next apply.
  const baseImage = explicit<string>(cfg, 'baseImage')?.trim();
  const ca = cfg.get<string[]>('caCertificates');
  return {
    runtime: runtime || undefined,
    cpus: explicit<number>(cfg, 'resources.cpus'),
    memory: explicit<string>(cfg, 'resources.memory'),
    pids: explicit<number>(cfg, 'resources.pids'),
    injectKeys: cfg.get<boolean>('injectApiKeys') !== false,
    baseImage: baseImage || undefined,
    // An empty list means "the host's extra CAs" (the engine's default), as in the CLI.
    caCertificates: ca && ca.length ? ca : undefined,
  };
}

/** The folder of the active editor, else the first folder. */
export function currentFolder(): vscode.WorkspaceFolder | undefined {
  const editor = vscode.window.activeTextEditor;
  return (editor && vscode.workspace.getWorkspaceFolder(editor.document.uri)) ?? vscode.workspace.workspaceFolders?.[0];
}
