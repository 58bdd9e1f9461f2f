// What the task listing reads from `git status --porcelain=v2 -z --branch` (src/engine/taskStatus.ts):
// the commit HEAD is at, the branch, and every uncommitted path, paths with spaces and newlines
// taken whole; output a task's folder could shape (a bad commit id, a rename's second path) does
// not pass for something else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStatus } from '../../../src/engine/taskStatus.js';

const OID = '9c41506db5dae418f4c5b5c99d26a6294dfaa93d';
const z = (...fields: string[]) => `${fields.join('\0')}\0`;

describe('task status parsing', () => {
  it('reads HEAD, the branch and each kind of uncommitted path (as git 2.39 writes them)', () => {
    const text = z(
      `# branch.oid ${OID}`, '# branch.head paddock/fix',
      '1 .M N... 100644 100644 100644 78981922613b2afb6025042ff6bd878ac1994e85 78981922613b2afb6025042ff6bd878ac1994e85 a file.txt',
      '1 D. N... 100644 000000 000000 61780798228d17af2d34fce4cfbdf35556832472 0000000000000000000000000000000000000000 b.txt',
      '1 A. N... 000000 100644 100644 0000000000000000000000000000000000000000 8ba3a16384aacc37d01564b28401755ce8053f51 new one.txt',
      'u UU N... 100644 100644 100644 100644 1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 3333333333333333333333333333333333333333 both edited.txt',
      '? d/un tracked',
      '? line\nbreak.txt',
    );
    assert.deepEqual(parseStatus(text), {
      head: OID, branch: 'paddock/fix',
      uncommitted: ['a file.txt', 'b.txt', 'new one.txt', 'both edited.txt', 'd/un tracked', 'line\nbreak.txt'],
    });
  });

  it('says a detached HEAD has no branch, and a clean folder has nothing uncommitted', () => {
    assert.deepEqual(parseStatus(z(`# branch.oid ${OID}`, '# branch.head (detached)')), { head: OID, branch: undefined, uncommitted: [] });
  });

  it('takes no commit id that is not one (no commit yet, or text shaped to look like an option)', () => {
    assert.equal(parseStatus(z('# branch.oid (initial)', '# branch.head main')).head, undefined);
    assert.equal(parseStatus(z('# branch.oid --output=/tmp/x', '# branch.head main')).head, undefined);
  });

  it('counts a rename once, by its new path, and does not read its old path as an entry', () => {
    const text = z('2 R. N... 100644 100644 100644 aaaa aaaa R100 new name.txt', '? old path looking like an entry', '? real.txt');
    assert.deepEqual(parseStatus(text).uncommitted, ['new name.txt', 'real.txt']);
  });

  it('skips ignored files and entries it does not know', () => {
    assert.deepEqual(parseStatus(z('! build/out.o', 'x something new', '1 .M short')).uncommitted, []);
  });
});
