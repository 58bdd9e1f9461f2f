import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { compileEgressRules, decide, normalizeHost, splitHostPort, targetText, EgressRuleError } from '../core/egress.js';
import { PaddockError } from '../core/errors.js';
import { shownOnOneLine as oneLine } from '../core/terminalText.js';
import type { SandboxEngine } from '../engine/engine.js';
import { egressPaths } from '../engine/egressFiles.js';
import { parseEgressLog, readNewLines, type EgressLogEntry } from '../proxy/log.js';
import { ownNetworkRefusal, ownNetworksOf } from '../proxy/ownNetworks.js';
import { humanBytes } from './format.js';
import { formatRulesEntry, registerNetworkRuleCommands } from './networkRules.js';
import { registerNetworkQuestionCommands } from './networkQuestions.js';

export interface NetworkCliContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
  readonly resolveSandbox: (engine: SandboxEngine, ref: string) => Promise<string>;
}

const DECISIONS = ['allow', 'deny', 'error', 'rules'] as const;

/** One line per decision: time, decision, method, host:port, rule, bytes (sent/received). */
export function formatEntry(e: EgressLogEntry): string {
  if (e.method === 'RULES') return formatRulesEntry(e);
  const time = e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  // A host that was not one is logged as the agent sent it: shown on one line, never obeyed by the terminal.
  const where = `${oneLine(e.host)}:${e.port}`;
  const bytes = e.decision === 'allow' ? `${humanBytes(e.bytesSent)} out, ${humanBytes(e.bytesReceived)} in` : '';
  const status = e.status !== undefined ? ` ${e.status}` : '';
  const error = e.error ? `  (${oneLine(e.error)})` : '';
  return `${time}  ${e.decision.toUpperCase().padEnd(5)}  ${oneLine(e.method).padEnd(7)}  ${where.padEnd(32)}  ${oneLine(e.rule).padEnd(28)}${status.padEnd(4)}  ${bytes}${error}`.trimEnd();
}

async function sandboxWithEgress(engine: SandboxEngine, ctx: NetworkCliContext, ref: string): Promise<string> {
  const sandbox = await engine.get(await ctx.resolveSandbox(engine, ref));
  const state = await engine.egressState(sandbox.name);
  if (state !== 'proxied') {
    throw new PaddockError(state === 'proxy-missing'
      ? `The egress proxy of ${sandbox.name} was removed outside Paddock: the sandbox has no network, and there is nothing to log or check.`
      : `Sandbox ${sandbox.name} has no egress proxy: it was created before Paddock had one, and its network traffic is not filtered or logged.`,
    state === 'proxy-missing' ? `"paddock start ${sandbox.name}" makes it again (the sandbox's state is kept).` : `"paddock apply ${sandbox.name}" makes a new container with an egress proxy and the policy's network rules, and keeps the sandbox's state.`);
  }
  return sandbox.name;
}

export function registerNetworkCommands(program: Command, ctx: NetworkCliContext): void {
  const network = program.command('network').description('The sandbox\'s network egress: its proxy\'s decisions and rules');

  network.command('log')
    .description('Show what the sandbox\'s egress proxy allowed and denied, and by which rule')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('--json', 'print JSON (an array; with --follow, one object per line)')
    .option('-f, --follow', 'keep printing new decisions')
    .option('-n, --tail <count>', 'only the last entries')
    .option('--decision <decision>', `only ${DECISIONS.join(', ')}`)
    .action(async (ref: string, o: any, cmd: Command) => {
      if (o.decision && !DECISIONS.includes(o.decision)) throw new PaddockError(`Unknown decision "${o.decision}".`, `Use one of ${DECISIONS.join(', ')}.`);
      const tail = o.tail === undefined ? undefined : Number(o.tail);
      if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0)) throw new PaddockError(`--tail needs a whole number, not "${o.tail}".`);
      const engine = await ctx.engineFrom(cmd);
      const name = await sandboxWithEgress(engine, ctx, ref);
      const file = egressPaths(name).log;
      const keep = (e: EgressLogEntry) => !o.decision || e.decision === o.decision;
      const old = existsSync(`${file}.1`) ? readFileSync(`${file}.1`, 'utf8') : '';
      const first = readNewLines(file);
      let entries = parseEgressLog(old + first.text).filter(keep);
      if (tail !== undefined) entries = tail === 0 ? [] : entries.slice(-tail);
      if (!o.follow) {
        if (o.json) process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else if (!entries.length) process.stdout.write(`No network requests logged for ${name} yet.\n`);
        else process.stdout.write(`${entries.map(formatEntry).join('\n')}\n`);
        return;
      }
      const print = (list: EgressLogEntry[]) => {
        for (const e of list) process.stdout.write(`${o.json ? JSON.stringify(e) : formatEntry(e)}\n`);
      };
      print(entries);
      // On stderr, so that --json output stays parseable; also tells a script that it is following now.
      process.stderr.write(`Following the network log of ${name} (Ctrl+C to stop).\n`);
      let cursor = first.next;
      await new Promise<void>((resolveDone) => {
        const timer = setInterval(() => {
          const next = readNewLines(file, cursor);
          cursor = next.next;
          print(parseEgressLog(next.text).filter(keep));
        }, 250);
        const stop = () => { clearInterval(timer); resolveDone(); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  network.command('check')
    .description('Say whether the sandbox\'s proxy would allow HOST[:PORT], and by which rule (sends nothing)')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .argument('<host>', 'host, host:port, or IP address (port default 443)')
    .option('--json', 'print JSON')
    .action(async (ref: string, hostArg: string, o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const name = await sandboxWithEgress(engine, ctx, ref);
      // The rules the proxy enforces now (its live rules, or the ones it was created with).
      const rules = compileEgressRules(await engine.enforcedNetwork(name));
      let host: string;
      let port: number;
      let decision;
      try {
        const split = splitHostPort(hostArg, 443);
        const target = normalizeHost(split.host);
        host = targetText(target);
        port = split.port!;
        decision = decide(rules, target, port);
        // As the proxy does: never into its own networks (src/proxy/ownNetworks.ts).
        const proxy = decision.allowed && target.kind === 'ip' ? await (await import('../engine/egress.js')).proxyContainerOf(engine.docker, name) : undefined;
        const own = proxy && target.kind === 'ip' ? ownNetworkRefusal(target.ip, await proxyOwnNetworks(engine, proxy)) : undefined;
        if (own) decision = { allowed: false, rule: own };
      } catch (err) {
        if (err instanceof EgressRuleError) throw new PaddockError(`"${hostArg}" is not a host: ${err.message}.`, 'Give a host name, host:port, or an IP address.');
        throw err;
      }
      const note = decision.allowed && rules.allow.length + rules.deny.length > 0
        ? 'Names are checked again on the addresses they resolve to: loopback, private and link-local addresses need an address rule.' : undefined;
      if (o.json) process.stdout.write(`${JSON.stringify({ sandbox: name, host, port, allowed: decision.allowed, rule: decision.rule }, null, 2)}\n`);
      else process.stdout.write(`${decision.allowed ? 'ALLOW' : 'DENY'} ${host}:${port} (rule: ${decision.rule})${note && decision.allowed ? `\n${note}` : ''}\n`);
    });
  registerNetworkRuleCommands(network, ctx);
  registerNetworkQuestionCommands(network, ctx);
}

async function proxyOwnNetworks(engine: SandboxEngine, proxy: string): Promise<ReturnType<typeof ownNetworksOf>> {
  const info = await engine.docker.getContainer(proxy).inspect();
  return ownNetworksOf(info.NetworkSettings.Networks as any, info.Config.Env ?? []);
}
