import { existsSync, readFileSync, statSync, watch } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { PaddockError } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import type { SandboxEngine } from '../engine/engine.js';
import { AuditLog, formatAuditEntry, readAudit, readAuditLines, type AuditEntry } from '../bridge/audit.js';
import type { Listen } from '../bridge/server.js';
import { bridgePaths, newToken, standaloneAuditFile, writeSecretFile } from '../engine/stateFolder.js';
import { log } from './format.js';

// The MCP SDK and the policy schema load only when a bridge command runs (the CLI bundle is split here).
const serving = async () => ({
  ...(await import('@modelcontextprotocol/sdk/server/stdio.js')),
  ...(await import('../bridge/host.js')),
  ...(await import('../bridge/server.js')),
  ...(await import('../bridge/service.js')),
  ...(await import('../bridge/tools.js')),
});

export interface BridgeCliContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
  readonly resolveSandbox: (engine: SandboxEngine, ref: string) => Promise<string>;
}


/** The policy of a standalone bridge: --policy FILE, or the workspace's .paddock/policy.yaml (or the defaults). */
async function standalonePolicy(o: { policy?: string; workspace?: string }): Promise<{ policy: Policy; workspace?: string; label: string }> {
  const { loadPolicy, parsePolicy } = await import('../core/policy.js');
  if (o.policy && o.workspace) throw new PaddockError('Give either --workspace or --policy, not both.', 'Use --policy FILE for a policy file, or --workspace DIR for a project.');
  if (o.policy) {
    const file = resolve(o.policy);
    if (!existsSync(file)) throw new PaddockError(`The policy file ${file} does not exist.`, 'Pass an existing .paddock/policy.yaml.');
    const { policy, issues } = parsePolicy(readFileSync(file, 'utf8'));
    if (!policy) throw new PaddockError(`The policy file is not valid:\n    ${issues.slice(0, 5).map((i) => `${file}:${i.range.line}:${i.range.col}: ${i.message}`).join('\n    ')}`, 'Fix it ("paddock policy check" lists every problem with its place).');
    return { policy, label: file };
  }
  const workspace = resolve(o.workspace ?? process.cwd());
  if (!existsSync(workspace) || !statSync(workspace).isDirectory()) throw new PaddockError(`The workspace ${workspace} is not a folder.`, 'Pass an existing project folder with --workspace.');
  return { policy: loadPolicy(workspace).policy, workspace, label: workspace };
}

function parseListen(value: string): Listen {
  if (value.startsWith('unix:')) {
    const path = resolve(value.slice(5));
    if (!value.slice(5)) throw new PaddockError('--listen unix: needs a path.', 'Example: --listen unix:/tmp/paddock-bridge.sock');
    return { kind: 'unix', path };
  }
  const tcp = /^(?:tcp:)?(?:127\.0\.0\.1|localhost):(\d+)$/.exec(value);
  if (tcp) return { kind: 'tcp', host: '127.0.0.1', port: Number(tcp[1]) };
  throw new PaddockError(`Cannot listen on "${value}".`, 'Use unix:PATH, or tcp:127.0.0.1:PORT (the bridge never listens on other interfaces).');
}

function waitForSignal(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}

export function registerBridgeCommands(program: Command, ctx: BridgeCliContext): void {
  const bridge = program.command('bridge')
    .description('The MCP bridge: policed access to the project\'s other containers (logs, inspect, approved commands) for agents and editors')
    .option('--stdio', 'serve MCP on stdin/stdout (for editors and scripts)')
    .option('--listen <where>', 'serve MCP (Streamable HTTP) on unix:PATH (mode 0600) or tcp:127.0.0.1:PORT, with a bearer token')
    .option('--workspace <dir>', 'use the bridge: and tier: parts of DIR/.paddock/policy.yaml (default: current folder)')
    .option('--policy <file>', 'use this policy file')
    .option('--token-file <file>', 'with --listen: where to write the bearer token (default: PATH.token, or printed)')
    .action(async (o: any, cmd: Command) => {
      if (!o.stdio && !o.listen) {
        cmd.help({ error: true });
        return;
      }
      if (o.stdio && o.listen) throw new PaddockError('Give either --stdio or --listen, not both.', 'Run two bridges if you need both.');
      const { policy, workspace, label } = await standalonePolicy(o);
      const engine = await ctx.engineFrom(cmd);
      await engine.ping();
      const { BridgeService, rulesFor, createBridgeServer, StdioServerTransport, BridgeHttpServer, BridgeAlreadyRunning } = await serving();
      const service = new BridgeService(engine.docker, rulesFor(policy, workspace));
      const name = o.stdio ? 'stdio' : 'listen';
      const audit = new AuditLog(standaloneAuditFile(name, label));
      if (o.stdio) {
        const server = createBridgeServer(service, audit, name);
        const transport = new StdioServerTransport();
        const closed = new Promise<void>((r) => { transport.onclose = () => r(); });
        await server.connect(transport);
        log(`paddock bridge: serving MCP on stdio (policy: ${label}; audit: ${audit.file})`);
        await Promise.race([closed, waitForSignal(), new Promise<void>((r) => process.stdin.once('end', () => r()))]);
        await server.close();
        return;
      }
      const where = parseListen(o.listen);
      const token = newToken();
      const http = new BridgeHttpServer(token, () => createBridgeServer(service, audit, name));
      const url = await http.listen(where).catch((err) => {
        if (err instanceof BridgeAlreadyRunning) throw new PaddockError(err.message, 'Stop that bridge first, or choose another path.');
        throw err;
      });
      const tokenFile = o.tokenFile ? resolve(o.tokenFile) : where.kind === 'unix' ? `${where.path}.token` : undefined;
      if (tokenFile) writeSecretFile(tokenFile, `${token}\n`);
      log(`paddock bridge: serving MCP on ${url} (policy: ${label}; audit: ${audit.file})`);
      log(tokenFile ? `Token (send as "Authorization: Bearer TOKEN") in ${tokenFile}` : `Token: ${token}`);
      await waitForSignal();
      await http.close();
    });

  bridge.command('serve')
    .description('Host the bridge of a sandbox in the foreground (paddock run and VS Code do this while they are open)')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .action(async (ref: string, _o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const id = await ctx.resolveSandbox(engine, ref);
      const { BridgeUnavailable } = await serving();
      const { hostFollowingPolicy } = await import('./bridge-host.js');
      let following;
      try {
        // It follows the policy the user applies (paddock policy apply, a save in VS Code) without a restart.
        following = await hostFollowingPolicy(engine, await engine.get(id), { say: log });
      } catch (err) {
        if (err instanceof BridgeUnavailable) throw new PaddockError(`${err.message}`, `"paddock apply ${ref}" makes a new container with the bridge and keeps the sandbox's state.`);
        throw err;
      }
      const hosted = following.first;
      for (const note of hosted.notes) log(`note: ${note}`);
      if (!hosted.hosting) return;
      log(`paddock bridge: serving ${hosted.sandbox} on ${hosted.url} (${hosted.transport}); audit: ${hosted.paths.audit}. Ctrl-C stops it.`);
      hosted.audit.onEntry((e) => log(formatAuditEntry(e)));
      await waitForSignal();
      await following.close();
    });

  bridge.command('log')
    .description('Show the bridge\'s audit log of a sandbox: every call, its decision and rule')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('-f, --follow', 'keep printing new entries')
    .option('-n, --tail <n>', 'only the last N entries')
    .option('--json', 'print JSON lines')
    .action(async (ref: string, o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const id = await ctx.resolveSandbox(engine, ref);
      const name = (await engine.get(id)).name;
      const file = bridgePaths(name).audit;
      const print = (e: AuditEntry) => process.stdout.write(`${o.json ? JSON.stringify(e) : formatAuditEntry(e)}\n`);
      let entries = readAudit(file);
      if (o.tail) entries = entries.slice(-Number(o.tail));
      if (!entries.length && !o.follow) log(`No bridge calls recorded for ${name} yet.`);
      entries.forEach(print);
      if (!o.follow) return;
      // Live, each line as written: a call's start, then its outcome.
      let seen = readAuditLines(file).length;
      const watcher = watch(join(file, '..'), () => {
        const all = readAuditLines(file);
        all.slice(seen).forEach(print);
        seen = all.length;
      });
      await waitForSignal();
      watcher.close();
    });
}
