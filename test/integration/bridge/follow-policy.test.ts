// The bridge hosted by `paddock bridge serve` and by `paddock run` follows the policy the user applies
// (`paddock policy apply`) without a restart, and a policy file that changed with no user act changes
// nothing. A real MCP client: the sandbox's own paddock-mcp, run by `docker exec` as the agent would,
// keeps one session across the change (it starts a new one on the bridge by itself).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CLI, cleanup, docker, makeWorkspace, paddockOk } from '../../support/sandbox.js';
import { agentClient, callTool } from './support.js';

const closed = ['version: 1', 'bridge:', '  containers: []', ''].join('\n');
const opened = (target: string) => ['version: 1', 'bridge:', `  containers: ["${target}"]`, ''].join('\n');

/** A CLI process in the background, its stderr collected; resolves once `ready` appears there. */
function background(args: string[], ready: RegExp): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`paddock ${args.join(' ')}: no ${ready} within 120 s\n${stderr}`)), 120_000);
    child.stderr!.on('data', (c) => {
      stderr += c;
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, stderr: () => stderr });
      }
    });
    child.on('exit', (code) => reject(new Error(`paddock ${args.join(' ')} exited ${code}\n${stderr}`)));
  });
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** list_containers through the client until `expect` holds (the bridge is being hosted again), or the time is up; with the calls that failed. */
async function listUntil(client: Client, expect: (text: string) => boolean, timeoutMs = 20_000): Promise<{ text: string; errors: string[] }> {
  const end = Date.now() + timeoutMs;
  const errors: string[] = [];
  let text = '';
  while (Date.now() < end) {
    const r = await callTool(client, 'list_containers').catch((err: Error) => ({ text: `error: ${err.message}`, isError: true }));
    text = r.text;
    if (r.isError) errors.push(text);
    else if (expect(text)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { text, errors };
}

async function stderrUntil(stderr: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (!pattern.test(stderr()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  return stderr();
}

describe('the CLI\'s bridge follows the policy the user applies', () => {
  const target = `pbt-follow-${process.pid}-${randomBytes(3).toString('hex')}`;
  let ws: string;
  let sandbox: string;
  let serve: { child: ChildProcess; stderr: () => string } | undefined;
  let run: { child: ChildProcess; stderr: () => string } | undefined;
  const clients: Client[] = [];
  const writePolicy = (text: string) => writeFileSync(join(ws, '.paddock', 'policy.yaml'), text);

  before(async () => {
    assert.equal(docker(['run', '-d', '--name', target, 'debian:bookworm-slim', 'sleep', 'infinity']).code, 0);
    ws = makeWorkspace({ '.paddock/policy.yaml': closed, 'README.md': '# app\n' }, 'paddock-follow-');
    sandbox = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await stop(serve?.child);
    await stop(run?.child);
    docker(['rm', '-f', target]);
    if (ws) await cleanup(ws);
  });

  it('paddock bridge serve: an applied policy opens the container to the open session; a file changed without apply does not', async () => {
    serve = await background(['bridge', 'serve', sandbox], /serving .* Ctrl-C stops it/);
    const client = await agentClient(sandbox);
    clients.push(client);
    assert.ok(!(await callTool(client, 'list_containers')).text.includes(target));

    // The attacker's side: the file changes on disk, no user act approves it.
    writePolicy(opened(target));
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(!(await listUntil(client, () => false, 1000)).text.includes(target), 'a file nobody applied must not open the container');
    assert.doesNotMatch(serve.stderr(), /now uses the policy/);

    await paddockOk(['policy', 'apply', ws]);
    const { text, errors } = await listUntil(client, (t) => t.includes(target));
    assert.ok(text.includes(target), `after policy apply the session sees ${target}: ${text}`);
    assert.deepEqual(errors, [], 'the agent\'s session went on through the change without an error');
    // Said once the new host is ready (it may serve calls a moment before).
    assert.match(await stderrUntil(serve.stderr, /now uses the policy/), new RegExp(`the bridge of ${sandbox} now uses the policy \\w+ \\("paddock policy apply"\\)`));
    await stop(serve.child);
    serve = undefined;
  });

  it('paddock run: the bridge it hosts for the session closes the container again on apply', async () => {
    run = await background(['run', 'shell', ws, '--', '-c', 'sleep 300'], /(Using|Created) sandbox /);
    const client = await agentClient(sandbox);
    clients.push(client);
    // `run` hosts the bridge right after it says which sandbox it uses.
    assert.ok((await listUntil(client, (t) => t.includes(target))).text.includes(target));
    writePolicy(closed);
    await paddockOk(['policy', 'apply', ws]);
    const { text, errors } = await listUntil(client, (t) => !t.includes(target));
    assert.ok(!text.includes(target), `after policy apply ${target} is out of reach: ${text}`);
    assert.deepEqual(errors, []);
    const exec = await callTool(client, 'exec_command', { container: target, command: 'id' });
    assert.equal(exec.isError, true);
    assert.match(await stderrUntil(run.stderr, /now uses the policy/), /now uses the policy/);
  });
});
