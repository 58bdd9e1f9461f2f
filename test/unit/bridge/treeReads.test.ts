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
