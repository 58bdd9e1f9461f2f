// `paddock rm` and `paddock reset` remove a sandbox through one function (removeSandboxAndState,
// src/engine/teardown.ts), so that neither can leave a piece of its state behind (reset once kept
// every bridge token). What that function removes is tested against the engine in
// test/integration/engine/teardown.test.ts; reset itself cannot run there (it removes every
// sandbox on the engine), so this reads the code: both methods call it, and neither removes a
// piece on its own.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const SRC = join(__dirname, '..', '..', '..', 'src');

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The names of the functions and methods a node calls ("removeEgress", "remove" for x.remove()). */
function callsIn(node: ts.Node): string[] {
  const names: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression;
      if (ts.isIdentifier(callee)) names.push(callee.text);
      else if (ts.isPropertyAccessExpression(callee)) names.push(callee.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return names;
}

function engineMethod(name: string): ts.MethodDeclaration {
  const file = parse(join(SRC, 'engine', 'engine.ts'));
  let found: ts.MethodDeclaration | undefined;
  const visit = (n: ts.Node) => {
    if (ts.isClassDeclaration(n) && n.name?.text === 'SandboxEngine') {
      found = n.members.find((m): m is ts.MethodDeclaration => ts.isMethodDeclaration(m) && ts.isIdentifier(m.name) && m.name.text === name);
    }
    ts.forEachChild(n, visit);
  };
  visit(file);
  assert.ok(found, `SandboxEngine.${name}() exists`);
  return found;
}

/** What only the teardown may call: each removes one piece of a sandbox. */
const PIECES = ['removeEgress', 'removeBridgeDir', 'remove'];

describe('one teardown for rm and reset', () => {
  for (const method of ['remove', 'reset']) {
    it(`SandboxEngine.${method}() removes each sandbox through removeSandboxAndState, and no piece on its own`, () => {
      const calls = callsIn(engineMethod(method));
      assert.ok(calls.includes('removeSandboxAndState'), `${method}() calls removeSandboxAndState: ${calls.join(', ')}`);
      assert.deepEqual(calls.filter((c) => PIECES.includes(c)), [], `${method}() removes no piece itself`);
    });
  }

  it('nothing but the teardown removes a bridge folder (the piece reset used to forget), except a create undoing its own', () => {
    const files = readdirSync(SRC, { recursive: true }).map(String).filter((f) => f.endsWith('.ts'));
    const count = (node: ts.Node) => callsIn(node).filter((c) => c === 'removeBridgeDir').length;
    const callers = files.filter((f) => count(parse(join(SRC, f))) > 0);
    assert.deepEqual(callers.filter((f) => f !== join('engine', 'engine.ts')), [join('engine', 'teardown.ts')]);
    // In the engine, only create removes one: the folder it made for a sandbox it failed to make.
    assert.equal(count(parse(join(SRC, 'engine', 'engine.ts'))), count(engineMethod('create')));
  });
});
