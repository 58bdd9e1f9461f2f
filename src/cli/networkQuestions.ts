import type { Command } from 'commander';
import type { QuestionsFile } from '../core/networkQuestions.js';
import type { NetworkRulesCliContext } from './networkRules.js';

const out = (text: string) => process.stdout.write(text);

/** The questions of one sandbox, for people: one line per host, then the flood offer. */
export function formatQuestions(q: QuestionsFile): string[] {
  const lines = [`${q.sandbox}  (asking: ${q.quiet ? 'off for this run ("deny all others")' : q.mode === 'hold' ? `hold requests up to ${q.holdSeconds} s` : q.mode === 'off' ? 'off' : 'refuse at once'})`];
  for (const x of q.questions) {
    const count = x.requests > 1 ? `, ${x.requests} requests` : '';
    lines.push(`  ${x.host.padEnd(40)}  port ${x.port} (${x.method}${count}), asked ${x.askedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`);
  }
  if (q.flood) {
    lines.push(`  and ${q.flood.hosts} more host${q.flood.hosts === 1 ? '' : 's'} refused without a question (too many at once), e.g. ${q.flood.examples.join(', ')}`);
  }
  return lines;
}

export function registerNetworkQuestionCommands(network: Command, ctx: NetworkRulesCliContext): void {
  network.command('pending')
    .description('List the questions running sandboxes ask about hosts no rule names. Answer with "paddock network allow SANDBOX HOST" (this run; --save: always) '
      + 'or "paddock network deny SANDBOX HOST --save"; --deny-others stops the questions of a sandbox until it stops (unknown hosts are refused).')
    .argument('[sandbox]', 'name, id, or workspace folder (default: every running sandbox)')
    .option('--json', 'print JSON: [{sandbox, mode, holdSeconds, quiet, questions: [{host, port, method, askedAt, lastAt, requests}], flood?}]')
    .option('--deny-others', 'answer "deny all others" for SANDBOX: no more questions from it until it stops')
    .action(async (ref: string | undefined, o: any, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const { readQuestions, hasQuestions, answerQuestion } = await import('../engine/networkQuestions.js');
      if (o.denyOthers) {
        const { PaddockError } = await import('../core/errors.js');
        if (!ref) throw new PaddockError('--deny-others needs the sandbox it is for.', 'Name it: "paddock network pending SANDBOX --deny-others".');
        const outcome = await answerQuestion(engine, await ctx.resolveSandbox(engine, ref), 'deny-others');
        if (o.json) out(`${JSON.stringify(outcome, null, 2)}\n`);
        else out(`No more questions from ${outcome.sandbox} until it stops: hosts no rule names are refused.${outcome.inForceAfterMs !== undefined ? ` In force after ${outcome.inForceAfterMs} ms.` : ''}\n`);
        return;
      }
      const names = ref ? [await ctx.resolveSandbox(engine, ref)] : (await engine.list()).filter((s) => s.status === 'running').map((s) => s.name);
      const files = names.map((name) => readQuestions(name)).filter((q): q is QuestionsFile => !!q);
      if (o.json) {
        out(`${JSON.stringify(files.map(({ version: _v, ...rest }) => rest), null, 2)}\n`);
        return;
      }
      const asking = files.filter(hasQuestions);
      if (!asking.length) {
        out(`No questions${ref ? ` from ${names[0]}` : ''}: no sandbox waits for an answer.\n`);
        return;
      }
      const lines = asking.flatMap((q) => [...formatQuestions(q), '']);
      lines.push('Answer: paddock network allow SANDBOX HOST  (this run; --save: always, written into .paddock/policy.yaml)',
        '        paddock network deny SANDBOX HOST --save',
        '        paddock network pending SANDBOX --deny-others  (no more questions from it until it stops)');
      out(`${lines.join('\n')}\n`);
    });
}
