import { createHash } from 'node:crypto';
import { basename } from 'node:path';

/** Labels carried by every sandbox container: Docker is the only store of Paddock's state. */
export const LABELS = {
  sandbox: 'dev.paddock.sandbox',
  workspace: 'dev.paddock.workspace',
  agent: 'dev.paddock.agent',
  templateHash: 'dev.paddock.template-hash',
  envHash: 'dev.paddock.env-hash',
  policyHash: 'dev.paddock.policy-hash',
  createdBy: 'dev.paddock.created-by',
  envNames: 'dev.paddock.env-names',
  /** Providers whose API key the sandbox's egress proxy injects ("anthropic,openai"). */
  injectedKeys: 'dev.paddock.injected-keys',
  /** The container runtime it was created with (listings read it here instead of inspecting). */
  runtime: 'dev.paddock.runtime',
  /** A task's sandbox (src/engine/tasks.ts): the task's name, the workspace it was made from, its branch and base commit. */
  task: 'dev.paddock.task', taskSource: 'dev.paddock.task-source', taskBranch: 'dev.paddock.task-branch', taskBase: 'dev.paddock.task-base',
  /** On images: which template and content hash they were built from. */
  template: 'dev.paddock.template',
  /** On base images: "default" when built from Paddock's own base image and the host's CAs, else "custom" (--base-image, --ca-cert). */
  baseOrigin: 'dev.paddock.base-origin',
} as const;

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Docker container names allow [a-zA-Z0-9][a-zA-Z0-9_.-]. */
export function slug(text: string): string {
  const s = text.toLowerCase().normalize('NFKD').replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-_.]+|[-_.]+$/g, '');
  return (s || 'workspace').slice(0, 40);
}

/** A stable, readable name for the one sandbox of (workspace, agent). */
export function defaultSandboxName(workspace: string, agent: string): string {
  return `paddock-${agent}-${slug(basename(workspace))}-${shortHash(workspace, 6)}`;
}

export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
