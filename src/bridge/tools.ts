import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { connectionFailure } from '../core/errors.js';
import type { MaskStats } from '../core/masking.js';
import { PADDOCK_VERSION } from '../core/version.js';
import { Admission, busyMessage, CallWithdrawn, LANE_API, LANE_EXEC, sharedAdmission, WaitedTooLong } from './admission.js';
import { AuditUnwritable, type AuditEntry, type AuditLog } from './audit.js';
import { BridgeDenied, CallCancelled, type BridgeService, type Permission, type TargetContainer } from './service.js';

export const TOOL_NAMES = [
  'list_containers', 'get_logs', 'search_logs', 'inspect_container', 'get_stats', 'exec_command', 'get_allowed_commands',
  'get_security_policy', 'list_files', 'read_file', 'restart_container', 'stop_container', 'start_container',
] as const;

/** Tools that start a process in a container (in its physical view): the engine's costly work, bounded apart (./admission.ts). */
const EXEC_TOOLS: ReadonlySet<string> = new Set(['exec_command', 'list_files', 'read_file']);

const container = z.string().min(1).describe('Container name (as list_containers shows it), compose service name, or id');
const since = z.string().optional().describe('Only entries newer than this: a duration ("10m", "2h"), an ISO time, or Unix seconds');

/**
 * An MCP server with the bridge's tools. One per client session; the service, policy and audit log
 * are shared. Every call is audited, every output masked, and a denial is a tool error that names
 * the rule and says how a person would allow it.
 */
export function createBridgeServer(service: BridgeService, audit: AuditLog, sandbox: string, admission: Admission = sharedAdmission): McpServer {
  const server = new McpServer({ name: 'paddock-bridge', version: PADDOCK_VERSION }, {
    instructions: 'Paddock bridge: read logs of, inspect, and run approved commands in the project\'s other containers. There is no Docker socket in this sandbox; this bridge is the only door. Everything returned is masked for secrets. Call get_security_policy to see what is allowed.',
  });

  /** `started`: the engine has started the call's process; run long past it, the call leaves its lane (./admission.ts RunInLane). */
  type Handler = (stats: MaskStats, started: () => void) => Promise<{ text: string; rule?: string }>;
  /**
   * `cancelled` aborts when the client cancels the call (notifications/cancelled) or goes away (its
   * connection or session ends, ./server.ts): a call still waiting for a slot then never runs.
   */
  const call = async (tool: string, args: Record<string, unknown>, permission: Permission | undefined, cancelled: AbortSignal, handler: Handler): Promise<CallToolResult> => {
    // Admitted or refused before any work, so a refusal answers at once whatever is queued (./admission.ts).
    const ticket = admission.enter(sandbox, cancelled, EXEC_TOOLS.has(tool) ? LANE_EXEC : LANE_API);
    const arrived = Date.now();
    if (!ticket.admitted) {
      const maskedArgs = JSON.parse(service.maskNow(JSON.stringify(args), { count: 0, rules: {} })) as Record<string, unknown>;
      return notRun({ time: new Date(arrived).toISOString(), sandbox, tool, args: maskedArgs }, arrived, { decision: 'busy', rule: 'refused-busy', message: busyMessage(ticket.reason, ticket.retryAfterMs) });
    }
    let maskedArgs = args;
    try {
      maskedArgs = JSON.parse(await service.mask(JSON.stringify(args), { count: 0, rules: {} })) as Record<string, unknown>;
      const slot = await ticket.slot;
      // Cancelled between getting its slot and starting: still nothing has run.
      if (cancelled.aborted) throw new CallWithdrawn();
      return await run(tool, maskedArgs, permission, (stats) => handler(stats, () => slot.started()));
    } catch (err) {
      const base = { time: new Date(arrived).toISOString(), sandbox, tool, args: maskedArgs };
      if (err instanceof WaitedTooLong) return notRun(base, arrived, { decision: 'busy', rule: 'refused-busy', message: busyMessage(err.reason, err.retryAfterMs) });
      if (!(err instanceof CallWithdrawn)) throw err;
      return notRun(base, arrived, { decision: 'cancelled', rule: 'cancelled-waiting', message: 'Cancelled before it ran (the client cancelled the call or went away), so nothing ran.' });
    } finally {
      void ticket.slot.then((slot) => slot.release(), () => {});
    }
  };
  /**
   * A call that did not run (refused for load, or cancelled while it waited): one audit line says so
   * (no "started" line), or stderr when the audit cannot hold it.
   */
  const notRun = (base: Pick<AuditEntry, 'time' | 'sandbox' | 'tool' | 'args'>, arrived: number, outcome: { decision: 'busy' | 'cancelled'; rule: string; message: string }): CallToolResult => {
    try {
      audit.record({ ...base, ...outcome, durationMs: Date.now() - arrived, masked: 0 });
    } catch (err) {
      if (!(err instanceof AuditUnwritable)) throw err;
      process.stderr.write(`paddock bridge (${sandbox}): ${base.tool} not run (${outcome.rule}; not audited: ${err.message})\n`);
    }
    return { content: [{ type: 'text', text: outcome.message }], isError: true };
  };
  const run = async (tool: string, maskedArgs: Record<string, unknown>, permission: Permission | undefined, handler: (stats: MaskStats) => Promise<{ text: string; rule?: string }>): Promise<CallToolResult> => {
    const started = Date.now();
    const stats: MaskStats = { count: 0, rules: {} };
    const base = { time: new Date(started).toISOString(), sandbox, tool, args: maskedArgs };
    // Written before anything runs: a call the audit cannot hold does not run (fail closed).
    let call: string;
    try {
      call = audit.begin(base);
    } catch (err) {
      if (!(err instanceof AuditUnwritable)) throw err;
      process.stderr.write(`paddock bridge (${sandbox}): refused ${tool}: ${err.message}\n`);
      return { content: [{ type: 'text', text: await service.mask(err.refusal, stats) }], isError: true };
    }
    const entry = { ...base, call };
    // The call ran (and its start is audited); an outcome the disk cannot hold is said, not thrown.
    const recordOutcome = (outcome: AuditEntry): string => {
      try {
        audit.record(outcome);
        return '';
      } catch (err) {
        if (!(err instanceof AuditUnwritable)) throw err;
        process.stderr.write(`paddock bridge (${sandbox}): ${tool} ran, its outcome was not audited: ${err.message}\n`);
        return `\n\n(Paddock: ${err.message} The call ran and its start is audited; further calls are refused until the user frees space.)`;
      }
    };
    try {
      if (permission) service.requirePermission(permission);
      const { text, rule } = await handler(stats);
      const note = recordOutcome({ ...entry, decision: 'allowed', rule: rule ?? (permission ? `permission ${permission}` : 'always allowed'), durationMs: Date.now() - started, masked: stats.count, ...(stats.count ? { maskedRules: stats.rules } : {}), outputBytes: Buffer.byteLength(text) });
      return { content: [{ type: 'text', text: text + note }] };
    } catch (err: any) {
      if (err instanceof CallCancelled) {
        // Nobody reads this answer (the SDK drops it); the audit line is what says what became of the command.
        const message = await service.mask(err.message, stats);
        recordOutcome({ ...entry, decision: 'cancelled', rule: 'cancelled-running', durationMs: Date.now() - started, masked: stats.count, message });
        return { content: [{ type: 'text', text: message }], isError: true };
      }
      const denied = err instanceof BridgeDenied;
      const lost = denied ? undefined : connectionFailure(err);
      const message = await service.mask(denied ? err.message
        : lost ? `The bridge could not do this: the Docker engine stopped answering (${lost}). Ask the user to start it, then retry.`
          : `The bridge could not do this: ${err?.json?.message ?? err?.message ?? String(err)}`, stats);
      const note = recordOutcome({ ...entry, decision: denied ? 'denied' : 'error', rule: denied ? err.rule : 'engine error', durationMs: Date.now() - started, masked: stats.count, message });
      return { content: [{ type: 'text', text: message + note }], isError: true };
    }
  };
  const onTarget = async (ref: string, fn: (c: TargetContainer) => Promise<{ text: string; rule?: string }>) => fn(await service.target(ref));

  server.registerTool('list_containers', {
    title: 'List containers',
    description: 'Lists the containers this bridge may reach (only those the policy allows), with their state and compose project/service.',
    inputSchema: {},
  }, async (_a, extra) => call('list_containers', {}, undefined, extra.signal, async () => {
    const list = await service.containers();
    return { text: list.length ? JSON.stringify(list.map((c) => ({ name: c.name, id: c.id.slice(0, 12), image: c.image, state: c.state, status: c.status, project: c.project, service: c.service })), null, 2) : 'No container is allowed (bridge.containers in .paddock/policy.yaml is empty or matches nothing running here).' };
  }));

  server.registerTool('get_logs', {
    title: 'Get container logs',
    description: 'Returns the latest log lines of a container (stdout and stderr), with secrets masked.',
    inputSchema: { container, tail: z.number().int().min(1).max(10_000).optional().describe('How many lines from the end (default 100)'), since, timestamps: z.boolean().optional().describe('Prefix lines with their time') },
  }, async (a, extra) => call('get_logs', a, 'logs', extra.signal, (stats) => onTarget(a.container, async (c) => ({ text: (await service.logs(c, a, stats)) || `(${c.name} has logged nothing${a.since ? ' in that time' : ''})` }))));

  server.registerTool('search_logs', {
    title: 'Search container logs',
    description: 'Finds log lines matching a regular expression (case-insensitive by default), with context lines around each match. Searches the masked text.',
    inputSchema: {
      container, pattern: z.string().min(1).max(500).describe('Regular expression (RE2 syntax: no backreferences or lookaround; runs in linear time)'),
      context: z.number().int().min(0).max(20).optional().describe('Lines before and after each match (default 2)'),
      tail: z.number().int().min(1).max(100_000).optional().describe('How many lines from the end to search (default 5000)'), since,
      ignoreCase: z.boolean().optional().describe('Default true'),
    },
  }, async (a, extra) => call('search_logs', a, 'logs', extra.signal, (stats) => onTarget(a.container, async (c) => ({ text: await service.searchLogs(c, a, stats) }))));

  server.registerTool('inspect_container', {
    title: 'Inspect a container',
    description: 'Shows a container\'s configuration and state: image, command, working dir, user, env (values of secret-like variables masked), ports, networks, mounts, labels, health.',
    inputSchema: { container },
  }, async (a, extra) => call('inspect_container', a, 'inspect', extra.signal, (stats) => onTarget(a.container, async (c) => ({ text: await service.inspect(c, stats) }))));

  server.registerTool('get_stats', {
    title: 'Container resource usage',
    description: 'CPU %, memory, network and block I/O and process count of a running container (one sample).',
    inputSchema: { container },
  }, async (a, extra) => call('get_stats', a, 'stats', extra.signal, () => onTarget(a.container, async (c) => ({ text: await service.stats(c) }))));

  server.registerTool('exec_command', {
    title: 'Run a command in a container',
    description: 'Runs a command in a container as its default user and working dir. `command` is split into words as a shell would, but never run by a shell: pipes, redirections, ; && $() are refused. An array of words is accepted too. Allowed commands depend on the tier (see get_allowed_commands); arguments naming blocked paths are refused. Output is masked.',
    inputSchema: {
      container,
      command: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('e.g. "npm test" or ["npm", "test"]'),
      timeout: z.number().int().min(1).max(600).optional().describe('Seconds to wait (default 60)'),
    },
  }, async (a, extra) => call('exec_command', a, 'exec', extra.signal, (stats, started) => onTarget(a.container, async (c) => {
    const result = await service.exec(c, a.command, a.timeout ?? 60, stats, extra.signal, started);
    return { text: result.text, rule: result.rule };
  })));

  server.registerTool('get_allowed_commands', {
    title: 'Allowed commands',
    description: 'The tier and, per container, the whitelisted commands ("x *" allows more arguments), the deny list and the blocked paths.',
    inputSchema: { container: container.optional() },
  }, async (a, extra) => call('get_allowed_commands', a, undefined, extra.signal, async () => {
    const targets = a.container ? [await service.target(a.container)] : await service.containers();
    const { tier, bridge } = service.rules;
    return { text: JSON.stringify({
      tier, exec: bridge.permissions.exec,
      containers: Object.fromEntries(targets.map((c) => [c.name, tier === 'strict' ? [] : tier === 'moderate' ? service.whitelistFor(c) : ['anything not denied']])),
      deny: tier === 'permissive' ? bridge.deny : undefined,
      blockedPaths: service.blocked.patterns,
    }, null, 2) };
  }));

  server.registerTool('get_security_policy', {
    title: 'Security policy',
    description: 'The bridge policy in force: tier, permissions, containers, command rules, blocked paths, and where a person changes them.',
    inputSchema: {},
  }, async (_a, extra) => call('get_security_policy', {}, undefined, extra.signal, async () => ({ text: JSON.stringify(service.describePolicy(), null, 2) })));

  server.registerTool('list_files', {
    title: 'List files in a container',
    description: 'Lists a folder in a container (ls -la); blocked paths are refused and blocked entries left out. Relative paths start at the container\'s working dir.',
    inputSchema: { container, path: z.string().min(1).describe('Folder path') },
  }, async (a, extra) => call('list_files', a, 'files', extra.signal, (stats) => onTarget(a.container, async (c) => ({ text: await service.listFiles(c, a.path, stats) }))));

  server.registerTool('read_file', {
    title: 'Read a file in a container',
    description: 'Reads a text file from a container (through the engine, nothing runs in it). Blocked paths, also behind symlinks, are refused; the content is masked.',
    inputSchema: { container, path: z.string().min(1).describe('File path'), maxBytes: z.number().int().min(1).max(1024 * 1024).optional().describe('Default 256 KiB') },
  }, async (a, extra) => call('read_file', a, 'files', extra.signal, (stats) => onTarget(a.container, async (c) => ({ text: await service.readFile(c, a.path, a.maxBytes ?? 256 * 1024, stats) }))));

  for (const action of ['restart', 'stop', 'start'] as const) {
    server.registerTool(`${action}_container`, {
      title: `${action[0].toUpperCase()}${action.slice(1)} a container`,
      description: `${action[0].toUpperCase()}${action.slice(1)}s a container (needs the lifecycle permission).`,
      inputSchema: { container },
    }, async (a, extra) => call(`${action}_container`, a, 'lifecycle', extra.signal, () => onTarget(a.container, async (c) => ({ text: await service.lifecycle(c, action) }))));
  }
  return server;
}
