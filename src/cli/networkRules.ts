import type { Command } from 'commander';
import { EgressRuleError } from '../core/egress.js';
import { PaddockError } from '../core/errors.js';
import { checkRuleText, rulesInForce, type RuleInForce } from '../core/liveRules.js';
import type { SandboxEngine } from '../engine/engine.js';
import type { EgressLogEntry } from '../proxy/log.js';

/** What the commands need from main.ts (engine connection and sandbox lookup). */
export interface NetworkRulesCliContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
  readonly resolveSandbox: (engine: SandboxEngine, ref: string) => Promise<string>;
}

const out = (text: string) => process.stdout.write(text);

/** A RULES line of the egress log, readable: what changed, from which user action, what was cut. */
export function formatRulesEntry(e: EgressLogEntry): string {
  const time = e.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (e.decision === 'error') return `${time}  RULES  refused: ${e.error ?? e.rule}`;
  const c = e.change;
  const parts = c ? [
    ...c.added.allow.map((r) => `+allow ${r}`), ...c.added.deny.map((r) => `+deny ${r}`),
    ...c.removed.allow.map((r) => `-allow ${r}`), ...c.removed.deny.map((r) => `-deny ${r}`),
    ...(c.policyChanged ? [`policy ${c.policy}`] : []),
  ] : [];
  const what = parts.length ? parts.join(', ') : 'no change';
  const cut = e.cut ? `; ${e.cut} open connection${e.cut === 1 ? '' : 's'} cut` : '';
  return `${time}  RULES  from ${c?.source ?? 'unknown'}: ${what}  (now ${e.rule})${cut}`;
}

/** The running rules' host and checks for one sandbox, or a PaddockError saying why it has none. */
async function liveSandbox(engine: SandboxEngine, ctx: NetworkRulesCliContext, ref: string) {
  const { liveRulesOf } = await import('../engine/networkRuleChange.js');
  const sandbox = await engine.get(await ctx.resolveSandbox(engine, ref));
  const { live, apply } = await liveRulesOf(engine, sandbox);
  return { sandbox, live, apply };
}

function ruleOrRefuse(text: string, list: 'allow' | 'deny'): string {
  try {
    return checkRuleText(text);
  } catch (err) {
    if (err instanceof EgressRuleError) {
      throw new PaddockError(`"${text}" cannot be ${list === 'allow' ? 'an allow' : 'a deny'} rule: ${err.message}.`, 'Write a host ("api.example.com"), a wildcard ("*.example.com"), host:port, or an address/CIDR ("10.0.0.0/8"). Nothing was changed.');
    }
    throw err;
  }
}

export function registerNetworkRuleCommands(network: Command, ctx: NetworkRulesCliContext): void {
  for (const list of ['allow', 'deny'] as const) {
    const verb = list === 'allow' ? 'Allow' : 'Deny';
    network.command(list)
      .description(`${verb} a host for the running sandbox now, without a restart (its proxy applies it within a second${list === 'deny' ? ' and cuts open connections to it' : ''}). `
        + 'Without --save it lasts until the sandbox stops; with --save it is also written into .paddock/policy.yaml (comments and layout kept) and approved as the policy in force for the workspace\'s sandboxes. Deny rules win over allow rules.')
      .argument('<sandbox>', 'name, id, or workspace folder')
      .argument('<host>', list === 'allow'
        ? 'host, host:port, *.domain (subdomains), or an address/CIDR (private and loopback addresses are reached only through an address rule)'
        : 'host, host:port, *.domain, or an address/CIDR')
      .option('--save', 'also write the rule into .paddock/policy.yaml and approve it (it then lasts and applies to new sandboxes)')
      .option('--json', 'print the outcome as JSON')
      .addHelpText('after', `\nExamples:\n  paddock network ${list} . docs.example.com\n  paddock network ${list} my-sandbox '*.example.com:443' --save\n\n"paddock network rules SANDBOX" shows the rules in force and where each came from.`)
      .action(async (ref: string, hostArg: string, o: any, cmd: Command) => {
        const rule = ruleOrRefuse(hostArg, list);
        const engine = await ctx.engineFrom(cmd);
        const { sandbox, live, apply } = await liveSandbox(engine, ctx, ref);
        if (!live) throw new PaddockError(`The egress proxy of ${sandbox.name} was made before rules could change live: it keeps the rules it was created with.`, `${apply} Nothing was changed.`);
        if (!o.save && sandbox.status !== 'running') {
          throw new PaddockError(`Sandbox ${sandbox.name} is not running, and a rule without --save lasts only while it runs.`, `Start it first ("paddock start ${sandbox.name}"), or add --save to write the rule into the policy.`);
        }
        const { changeNetworkRule } = await import('../engine/networkRuleChange.js');
        const { running, saved, approvedFor: approved, overriddenBy, inForceAfterMs: ms } = await changeNetworkRule(engine, sandbox.name, list, rule, { save: !!o.save });
        const lines: string[] = [];
        if (saved) lines.push(`${saved.changed ? 'Wrote' : 'Already in'} ${saved.file}: network.${list} has ${rule}${saved.removedFromOther ? ` (taken out of network.${list === 'allow' ? 'deny' : 'allow'})` : ''}; approved for ${approved.join(', ')}.`);
        else lines.push(`${list === 'allow' ? 'Allowed' : 'Denied'} ${rule} for ${sandbox.name} until it stops (not saved: add --save to keep it).`);
        if (overriddenBy) lines.push(`Note: deny rule ${overriddenBy} still wins over it.${o.save ? '' : ' Use --save to change the policy\'s deny rules.'}`);
        if (running) {
          lines.push(ms !== undefined ? `In force in the running sandbox after ${ms} ms.`
            : `The proxy of ${sandbox.name} did not confirm the change within 3 s: "paddock network log ${sandbox.name}" says why.`);
        } else {
          lines.push(`${sandbox.name} is not running: its proxy applies the rule when it starts.`);
        }
        if (o.json) {
          out(`${JSON.stringify({ sandbox: sandbox.name, list, rule, saved: !!o.save, policyFile: saved?.file ?? null, approvedFor: approved, inForceAfterMs: ms ?? null, overriddenBy: overriddenBy ?? null }, null, 2)}\n`);
        } else out(`${lines.join('\n')}\n`);
        if (running && ms === undefined) throw new PaddockError(`The egress proxy of ${sandbox.name} did not apply the rule.`, `See "paddock network log ${sandbox.name}"; if the proxy is stopped, "paddock start ${sandbox.name}" starts it.`, 1);
      });
  }

  network.command('rules')
    .description('Print the network rules the sandbox\'s proxy enforces now and where each came from: the approved policy, the machine\'s package registries (network.hostRegistries), or this run (paddock network allow|deny without --save). Deny rules win.')
    .argument('<sandbox>', 'name, id, or workspace folder')
    .option('--json', 'print JSON: {sandbox, policy, live, changedAt, source, rules: [{list, rule, from, overriddenBy?}]}')
    .action(async (ref: string, o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const { sandbox, live } = await liveSandbox(engine, ctx, ref);
      const { networkInForce } = await import('../engine/liveRules.js');
      const inForce = await networkInForce(engine.docker, sandbox.name);
      const rules: RuleInForce[] = inForce.live ? rulesInForce(inForce.live) : [
        ...inForce.network.deny.map((rule) => ({ list: 'deny' as const, rule, from: 'policy' as const })),
        ...inForce.network.allow.map((rule) => ({ list: 'allow' as const, rule, from: 'policy' as const })),
      ];
      if (o.json) {
        out(`${JSON.stringify({ sandbox: sandbox.name, policy: inForce.network.policy, live, changedAt: inForce.live?.changedAt ?? null, source: inForce.live?.source ?? 'create', rules }, null, 2)}\n`);
        return;
      }
      const lines = [`Sandbox: ${sandbox.name}`];
      lines.push(inForce.live ? `Rules:   last changed ${inForce.live.changedAt} by ${inForce.live.source}` : `Rules:   as created${live ? '' : ' (this proxy cannot change rules live: "paddock apply" the sandbox for that, its state is kept)'}`);
      lines.push(`Other hosts: ${inForce.network.policy === 'deny' ? 'denied' : 'allowed'} (network.policy ${inForce.network.policy})`, '');
      const width = Math.max(4, ...rules.map((r) => r.rule.length));
      for (const r of rules) lines.push(`${r.list.toUpperCase().padEnd(5)}  ${r.rule.padEnd(width)}  ${r.from}${r.overriddenBy ? `  (deny ${r.overriddenBy} wins)` : ''}`);
      if (!rules.length) lines.push('(no rules)');
      lines.push('', 'Deny rules win over allow rules. Loopback, private and link-local addresses are reached only through an address rule.');
      out(`${lines.join('\n')}\n`);
    });
}
