// Issue 11, the cage's last gap: a git dir's "commondir" file, which did not exist at create (so no
// mount could protect it), names the folder git takes its config and hooks from. The agent writes
// one pointing at a config of its own with core.fsmonitor, and the host's git (the editor's status
// refresh, the user's next command) would run that program. The sandbox's guard moves it aside and
// stops the sandbox within milliseconds, before the editor's git looks (README: the cage, limits).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OWNER, RUNTIMES, engine, makeWorkspace, paddock, paddockOk, startedPerSuite, stopsWithin } from '../../support/sandbox.js';

const home = mkdtempSync(join(tmpdir(), 'paddock-githome-'));
after(() => rmSync(home, { recursive: true, force: true }));

/** git on the host as the workspace's owner would run it (the editor does, on every change in .git). */
function hostGit(ws: string, ...args: string[]) {
  return spawnSync('git', ['-C', ws, ...args], {
    encoding: 'utf8', uid: process.getuid?.() === 0 ? OWNER.uid : undefined, gid: process.getuid?.() === 0 ? OWNER.gid : undefined,
    env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' }, timeout: 10_000,
  });
}

function repository(prefix: string): string {
  const ws = makeWorkspace({ 'README.md': '# redirect\n' }, prefix);
  for (const args of [['init', '-q', '-b', 'main'], ['add', '.'], ['-c', 'user.name=u', '-c', 'user.email=u@e', 'commit', '-qm', 'first']]) {
    const r = hostGit(ws, ...args);
    assert.equal(r.status, 0, r.stderr);
  }
  return ws;
}

/** The agent's files: a git dir of its own whose config runs a program, and .git/commondir naming it. */
const attack = (ws: string) => [
  'mkdir -p build/evil/objects build/evil/refs/heads',
  'printf "ref: refs/heads/main\\n" > build/evil/HEAD',
  `printf "[core]\\n\\trepositoryformatversion = 0\\n\\tfsmonitor = touch ${ws}/PWNED\\n" > build/evil/config`,
  'printf "../build/evil\\n" > commondir.new',
].join(' && ');

describe('a commondir the sandbox writes into a caged git dir', () => {
  it('control: outside any sandbox, the same files make the host\'s git run the agent\'s program', () => {
    const ws = repository('paddock-redirect-control-');
    try {
      assert.equal(spawnSync('sh', ['-c', `cd ${ws} && ${attack(ws)} && mv commondir.new .git/commondir`]).status, 0);
      hostGit(ws, 'status', '--short');
      assert.ok(existsSync(join(ws, 'PWNED')), 'the attack works when nothing stops it, so the tests below can fail');
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });

  for (const runtime of RUNTIMES) {
    describe(`under ${runtime}`, () => {
      let ws: string;
      let sb: string;
      startedPerSuite(() => repository(`paddock-redirect-${runtime}-`), runtime, (made) => ({ ws, sb } = made));

      it('is moved aside and the sandbox stops before the editor\'s git looks: the program never runs on the host', async () => {
        // The host runs git as VS Code's git extension does: a second after a change in .git (its
        // refresh is debounced by 1 s), and once more after the agent is done.
        let timer: NodeJS.Timeout | undefined;
        let runs = 0;
        const editor = watch(join(ws, '.git'), () => {
          clearTimeout(timer);
          timer = setTimeout(() => { hostGit(ws, 'status', '--short'); runs++; }, 1000);
        });
        try {
          // The agent retries in a tight loop (rename makes the file appear whole at once).
          const r = await paddock(['exec', sb, '--', 'sh', '-c', `${attack(ws)} && while :; do cp commondir.new .git/c.tmp && mv .git/c.tmp .git/commondir; done`]);
          assert.notEqual(r.code, 0, 'the attacker was stopped');
          assert.ok(await stopsWithin(sb, 5000), 'the sandbox stopped');
          await new Promise((resolve) => setTimeout(resolve, 1500));
        } finally {
          editor.close();
          clearTimeout(timer);
        }
        assert.ok(runs > 0, 'the editor-like watcher ran git');
        assert.ok(!existsSync(join(ws, 'PWNED')), 'the host\'s git ran the agent\'s program');
        assert.ok(!existsSync(join(ws, '.git/commondir')), 'no commondir is left where git reads it');
        assert.ok(existsSync(join(ws, '.git/commondir.paddock-blocked')), 'it is kept beside, for the user to read');
        const why = await engine().stopReason(sb);
        assert.match(why?.text ?? '', /^blocked: .*\.git\/commondir written in the sandbox would make git on the host read another config/);
        const ls = await paddockOk(['ls']);
        assert.match(ls.stdout.split('\n').find((l) => l.includes(sb)) ?? '', /\(blocked: git redirection\)/);
        assert.equal(hostGit(ws, 'status', '--short').status, 0, 'the user\'s git works as before');
        assert.ok(!existsSync(join(ws, 'PWNED')));
      });

      it('starts again once the user has looked, and the guard is back', async () => {
        await paddockOk(['start', sb]);
        const r = await paddock(['exec', sb, '--', 'sh', '-c', 'echo ../build/evil > .git/commondir; sleep 5']);
        assert.notEqual(r.code, 0);
        assert.ok(await stopsWithin(sb, 5000));
        assert.ok(!existsSync(join(ws, '.git/commondir')));
        assert.ok(!existsSync(join(ws, 'PWNED')));
      });

      it('git in the sandbox works normally (commits write objects, refs, index and HEAD in .git)', async () => {
        await paddockOk(['start', sb]);
        const r = await paddock(['exec', sb, '--', 'sh', '-c', 'echo y > more.txt && git add more.txt && git -c user.email=a@b -c user.name=a commit -qm more && git log --oneline | wc -l']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), '2');
        assert.ok(!(await stopsWithin(sb, 1000)), 'an ordinary commit does not stop the sandbox');
      });

      // The guard's first look comes after "ready" (on gVisor under load, seconds after): a commondir
      // written in between is already there when it looks. It used to be taken for a linked worktree's
      // and the git dir went unwatched for the whole session.
      it('a commondir already there at the guard\'s first look is moved aside too (only one the cage mounted is git\'s own)', async () => {
        await paddockOk(['stop', sb]);
        writeFileSync(join(ws, '.git/commondir'), '../build/evil\n');
        await paddock(['start', sb]);
        assert.ok(await stopsWithin(sb, 15_000), 'the sandbox stopped itself');
        assert.ok(!existsSync(join(ws, '.git/commondir')), 'no commondir is left where git reads it');
        assert.match((await engine().stopReason(sb))?.text ?? '', /^blocked: .*\.git\/commondir written in the sandbox/);
        assert.equal(hostGit(ws, 'status', '--short').status, 0, 'the user\'s git works as before');
        assert.ok(!existsSync(join(ws, 'PWNED')));
      });
    });
  }
});
