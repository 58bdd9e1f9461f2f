import type { Command } from 'commander';
import type { SandboxEngine } from '../engine/engine.js';

export interface ImageCommandsContext {
  readonly engineFrom: (cmd: Command) => Promise<SandboxEngine>;
}

/**
 * `paddock images --prune [--dry-run]`: the older images of every template that nothing uses, as a
 * build removes those of its own template (../engine/imagePrune.ts); one line per template.
 */
export function registerImageCommands(program: Command, ctx: ImageCommandsContext): void {
  program.command('images')
    .description('remove the older template images Paddock built that no container uses (kept: those from the last day, and those you tagged or named)')
    .requiredOption('--prune', 'remove them (the only action: images are otherwise removed as new ones are built)')
    .option('--dry-run', 'say what would be removed, remove nothing')
    .action(async (o: { dryRun?: boolean }, cmd: Command) => {
      const engine = await ctx.engineFrom(cmd);
      const { pruneAllTemplateImages, prunedLine } = await import('../engine/imagePrune.js');
      const results = await pruneAllTemplateImages(engine.docker, { dryRun: !!o.dryRun });
      const lines = results.map(({ family, outcome }) => prunedLine(family, outcome, !!o.dryRun)).filter(Boolean);
      process.stdout.write(lines.length ? `${lines.join('\n')}\n` : 'No older template image to remove.\n');
    });
}
