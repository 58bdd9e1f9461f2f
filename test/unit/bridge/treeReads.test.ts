import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommand } from '../../../src/core/bridgeExecRules.js';
import { treeReadOf } from '../../../src/core/treeReads.js';

const tree = (command: string) => treeReadOf(splitCommand(command), '/app');
const roots = (command: string) => tree(command)?.roots;

describe('treeReadOf: which folders a command reads below', () => {
  it('grep reads folders only when recursive, in every spelling', () => {
    assert.equal(tree('grep x /app/config.json'), undefined);
    assert.equal(tree('grep -n -i x src'), undefined);
    for (const cmd of ['grep -r x src', 'grep -rn x src', 'grep -nri x src', 'grep --recursive x src', 'grep -d recurse x src', 'grep --directories=recurse x src', 'grep -drecurse x src', 'rgrep x src', 'egrep -r x src']) {
      assert.deepEqual(roots(cmd), ['/app/src'], cmd);
    }
  });

  it('the first operand is the pattern, unless -e or -f gives it; no folder means the working dir', () => {
    assert.deepEqual(roots('grep -r password'), ['/app']);
    assert.deepEqual(roots('grep -r -e password src lib'), ['/app/src', '/app/lib']);
    assert.deepEqual(roots('grep -r --regexp=password'), ['/app']);
    assert.deepEqual(roots('grep -rf patterns.txt /etc'), ['/etc']);
    assert.deepEqual(roots('grep -r -- -x- ../other'), ['/other']);
    // Options after operands (GNU permutes them) and options with values in the next word.
    assert.deepEqual(roots('grep x src -r -A 3 --include *.ts'), ['/app/src']);
    assert.deepEqual(roots('grep -rA3 x src'), ['/app/src']);
  });

  it('-R and --dereference-recursive follow symlinks; -r does not', () => {
    assert.equal(tree('grep -r x .')?.followsLinks, false);
    assert.equal(tree('grep -R x .')?.followsLinks, true);
    assert.equal(tree('grep --dereference-recursive x .')?.followsLinks, true);
    assert.equal(tree('grep -R x .')?.how, 'grep -R');
  });

  it('ripgrep, ag and ack are recursive by default', () => {
    assert.deepEqual(roots('rg TODO'), ['/app']);
    assert.deepEqual(roots('rg -t ts TODO src'), ['/app/src']);
    assert.deepEqual(roots('rg --files'), ['/app']);
    assert.deepEqual(roots('rg --files /srv'), ['/srv']);
    assert.equal(tree('rg -L x')?.followsLinks, true);
    assert.equal(tree('rg x')?.followsLinks, false);
    assert.deepEqual(roots('ag needle lib'), ['/app/lib']);
  });

  it('tar reads folders when it writes an archive, in old and new style, relative to -C', () => {
    assert.deepEqual(roots('tar czf /tmp/out.tgz src'), ['/app/src']);
    assert.deepEqual(roots('tar -c -f - .'), ['/app']);
    assert.deepEqual(roots('tar --create --file=- secrets'), ['/app/secrets']);
    assert.deepEqual(roots('tar -cf - -C /srv data'), ['/app/data', '/srv/data']);
    assert.equal(tree('tar xzf backup.tgz'), undefined);
    assert.equal(tree('tar -tf backup.tar'), undefined);
    assert.equal(tree('tar chf - src')?.followsLinks, true);
    assert.equal(tree('tar -c -T /tmp/list -f -')?.listFile, '/tmp/list');
    assert.equal(tree('tar -c --files-from=/tmp/list -f -')?.listFile, '/tmp/list');
  });

  it('cp -r, rsync -a and zip -r read their sources; mv moves them out of their pattern', () => {
    assert.equal(tree('cp a b'), undefined);
    assert.deepEqual(roots('cp -r src /tmp/copy'), ['/app/src']);
    assert.deepEqual(roots('cp -a -t /tmp src lib'), ['/app/src', '/app/lib']);
    assert.equal(tree('cp -rL src /tmp')?.followsLinks, true);
    assert.deepEqual(roots('mv /app /tmp/app'), ['/app']);
    assert.deepEqual(roots('rsync -av /app/ /backup'), ['/app']);
    assert.equal(tree('rsync -v a b'), undefined);
    assert.deepEqual(roots('zip -r out.zip src'), ['/app/src']);
    assert.equal(tree('zip -r out.zip src')?.followsLinks, true, 'zip follows links unless -y');
    assert.equal(tree('zip -ry out.zip src')?.followsLinks, false);
    assert.deepEqual(roots('diff -r a /srv/b'), ['/app/a', '/srv/b']);
    assert.equal(tree('diff a b'), undefined);
  });

  it('looks behind wrappers', () => {
    assert.deepEqual(roots('timeout 5 nice grep -r x /app'), ['/app']);
    assert.deepEqual(roots('env LC_ALL=C /bin/grep -r x lib'), ['/app/lib']);
  });

  it('other commands read no folders', () => {
    for (const cmd of ['ls -R /app', 'find /app -name x', 'du -a /app', 'cat /app/config.json', 'npm test', 'wc -l src']) assert.equal(tree(cmd), undefined, cmd);
  });
});

// Red team #5 and #3: getopt_long takes any unambiguous prefix of a long option, so the folder
// checks must too (`mv --target-d=/app/stash /app/config` moved a blocked file's parent unchecked).
describe('treeReadOf: abbreviated long options', () => {
  it('finds recursion, archive creation and targets however abbreviated', () => {
    for (const [command, expected] of [
      ['grep --recur x /app', ['/app']],
      ['grep --direc=recurse x /app', ['/app']],
      ['grep -d rec x /app', ['/app']],
      ['grep --dereference-r x /app', ['/app']],
      ['rsync --recur /app /tmp', ['/app']],
      ['rsync --arch /app /tmp/x', ['/app']],
      ['tar --cre -f /tmp/a /app', ['/app']],
      ['tar --creat --fil=/tmp/a /app', ['/app']],
      ['diff --recur /app /tmp', ['/app', '/tmp']],
      ['zip --recurse-p /tmp/z /app', ['/app']],
      ['cp -r --target-d=/tmp /app', ['/app']],
      ['cp --recur /app /tmp/x', ['/app']],
      ['cp --arch /app /tmp/x', ['/app']],
      ['mv --target=/tmp /etc', ['/etc']],
      ['mv --target-d=/app/stash /app/config', ['/app/config']],
      ['mv --target-directory /app/stash /app/config', ['/app/config']],
      ['mv --targ /app/stash /app/config', ['/app/config']],
    ] as const) {
      assert.deepEqual(roots(command), expected, command);
    }
    assert.equal(tree('grep --dereference-r x /app')?.followsLinks, true);
    assert.equal(tree('cp --recur --deref /app /tmp/x')?.followsLinks, true);
    assert.equal(tree('tar --cre --deref -f /tmp/a /app')?.followsLinks, true);
  });
  it('leaves what is not recursive alone', () => {
    assert.equal(tree('grep --ignore-case x /app/config.json'), undefined);
    assert.equal(tree('cp --preserve=mode a b'), undefined);
    assert.equal(tree('tar --list -f /tmp/a.tar'), undefined);
  });
});
