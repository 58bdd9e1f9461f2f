import type { KeyProviderId } from '../core/credentials.js';

/** A sandbox as every part of Paddock sees it; read from the container's labels and state. */
export interface SandboxSummary {
  readonly name: string;
  readonly id: string;
  readonly workspace: string;
  readonly agent: string;
  /** running | stopped | created | paused | restarting | removing | dead */
  readonly status: SandboxStatus;
  readonly runtime: string;
  readonly image: string;
  /** ISO 8601 */
  readonly created: string;
  readonly ports: readonly PublishedPort[];
}

export type SandboxStatus = 'running' | 'stopped' | 'created' | 'paused' | 'restarting' | 'removing' | 'dead';

export interface PublishedPort {
  readonly containerPort: number;
  readonly protocol: string;
  readonly hostIp: string;
  readonly hostPort: number;
}

export interface SandboxMount {
  readonly type: string;
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export interface SandboxDetails extends SandboxSummary {
  readonly startedAt?: string;
  readonly mounts: readonly SandboxMount[];
  /** Names of the user-set environment variables; values never leave the engine. */
  readonly envNames: readonly string[];
  readonly limits: { readonly cpus: number; readonly memoryBytes: number; readonly pids: number };
  readonly user: { readonly uid: number; readonly gid: number };
  readonly templateHash?: string;
  /** Hash of the policy the sandbox was created with. */
  readonly policyHash?: string;
  readonly createdBy?: string;
  /** Providers whose API key the egress proxy injects (the key itself is never in the sandbox). */
  readonly injectedKeys: readonly KeyProviderId[];
  /** Served by the engine's shared egress service: no network interface, no proxy of its own (src/engine/egressService.ts). */
  readonly sharedEgress?: boolean;
}
