// A missing part, injected for real on the shared engine (only this test's own objects): the egress
// proxy removed by hand, the sandbox's network removed, the proxy's keys folder deleted, the bridge
// token corrupted, the workspace deleted or deleted and copied back at the same path, and creates
// that fail half-way. Paddock repairs what it owns at the next start, keeps the sandbox's state and
// says what it repaired; what it does not own (the workspace) it names, with the fix.
import assert from 'node:assert/strict';
import { chownSync, cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { egressNames } from '../../../src/engine/egress.js';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { bridgePaths } from '../../../src/engine/stateFolder.js';
import { cleanup, docker, makeWorkspace, OWNER, paddock, paddockOk } from '../../support/sandbox.js';

/** Bytes that are neither text nor line breaks: a stream header or an escape leaking into a message. */
const RAW_BYTES = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const GATEWAY = 'http://gateway.paddock-test.invalid:9/v1';
const keysEnv = { ANTHROPIC_API_KEY: 'sk-ant-repair-test-key', ANTHROPIC_BASE_URL: '' };

/** The proxy answers its own address (a 400 for a request without a target): the sandbox has a network again. */
const proxyAnswers = async (sb: string) => (await paddock(['exec', sb, '--', 'curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', 'http://paddock-egress:3128/'])).stdout;

describe('parts of a sandbox removed by hand are made again at the next start', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    ws = makeWorkspace({ 'README.md': '# repair\n' }, 'paddock-repair-');
    // Created with a company gateway as the key's upstream (never contacted: no request is made through it).
    sb = (await paddockOk(['create', 'shell', ws, '-p', '8080'], { env: { ...keysEnv, ANTHROPIC_BASE_URL: GATEWAY } })).stdout.trim();
    await paddockOk(['exec', '-u', 'root', sb, '--', 'sh', '-c', 'echo installed > /opt/state-marker']);
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('a proxy removed while the sandbox runs: exec says so and how to fix; start makes it again, ports and state kept', async () => {
    assert.equal(docker(['rm', '-f', egressNames(sb).proxy]).code, 0);
    const exec = await paddock(['exec', sb, '--', 'curl', '-s', '-m', '3', 'http://paddock-egress:3128/']);
    assert.notEqual(exec.code, 0);
    assert.ok(exec.stderr.includes(`paddock: The egress proxy of ${sb} was removed outside Paddock, so the sandbox has no network (nothing was changed in it); "paddock start ${sb}" makes it again and keeps the sandbox's state.`), exec.stderr);
    const start = await paddockOk(['start', sb], { env: keysEnv });
    assert.ok(start.stderr.includes(`note: ${sb}: its egress proxy ${egressNames(sb).proxy} was removed: made again with its network rules, publishing a free port -> 8080.`), start.stderr);
    assert.equal(await proxyAnswers(sb), '400');
    assert.match(docker(['port', egressNames(sb).proxy, '8080/tcp']).stdout, /^127\.0\.0\.1:\d+/);
    assert.equal((await paddockOk(['exec', sb, '--', 'cat', '/opt/state-marker'])).stdout, 'installed\n');
  });

  it('a start without the base-URL variable keeps the upstream the sandbox was created with, and says so', async () => {
    const start = await paddockOk(['start', sb], { env: keysEnv });
    assert.ok(start.stderr.includes(`note: ${sb}: ANTHROPIC_BASE_URL is not set here, so Anthropic (Claude Code) requests keep going to ${GATEWAY}, as before; set ANTHROPIC_BASE_URL to change that.`), start.stderr);
    assert.equal(JSON.parse(readFileSync(egressPaths(sb).keys, 'utf8')).anthropic.upstream, GATEWAY);
  });

  it('a deleted keys folder, a corrupt bridge token and a removed network: one start repairs all three and says each', async () => {
    await paddockOk(['stop', sb]);
    rmSync(egressPaths(sb).keysDir, { recursive: true, force: true });
    writeFileSync(bridgePaths(sb).token, Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0a, 0x01, 0x74]));
    assert.equal(docker(['network', 'rm', egressNames(sb).network]).code, 0);
    const start = await paddock(['start', sb], { env: keysEnv });
    assert.equal(start.code, 0, start.stderr);
    assert.ok(start.stderr.includes(`note: ${sb}: its bridge token ${bridgePaths(sb).token} was corrupt: a new one was written (the bridge and its agents use it from this start).`), start.stderr);
    assert.ok(start.stderr.includes(`note: ${sb}: its proxy's keys folder ${egressPaths(sb).keysDir} was missing: made again; keys read again from this environment (ANTHROPIC_API_KEY); network rules restored from the approved policy (rules allowed for one run only are gone).`), start.stderr);
    assert.ok(start.stderr.includes(`note: ${sb}: its network ${egressNames(sb).network} was removed: made again.`), start.stderr);
    assert.doesNotMatch(start.stderr, RAW_BYTES);
    assert.match(readFileSync(bridgePaths(sb).token, 'utf8'), /^[A-Za-z0-9_-]{43}\n$/);
    // The key is back, still for the gateway the sandbox was created with; the rules file is back too.
    const keys = JSON.parse(readFileSync(egressPaths(sb).keys, 'utf8'));
    assert.equal(keys.anthropic.upstream, GATEWAY);
    assert.equal(keys.anthropic.value, keysEnv.ANTHROPIC_API_KEY);
    assert.ok(existsSync(`${egressPaths(sb).keysDir}/rules.json`));
    assert.equal(await proxyAnswers(sb), '400');
    assert.equal((await paddockOk(['exec', sb, '--', 'cat', '/opt/state-marker'])).stdout, 'installed\n');
  });

  it('a start whose environment sets another base URL changes the upstream, and says so', async () => {
    const other = 'http://other-gateway.paddock-test.invalid:9';
    const start = await paddockOk(['start', sb], { env: { ...keysEnv, ANTHROPIC_BASE_URL: other } });
    assert.ok(start.stderr.includes(`note: ${sb}: Anthropic (Claude Code) requests now go to ${other} (ANTHROPIC_BASE_URL of this start), no longer to ${GATEWAY}.`), start.stderr);
    assert.equal(JSON.parse(readFileSync(egressPaths(sb).keys, 'utf8')).anthropic.upstream, other);
    const again = await paddockOk(['start', sb], { env: keysEnv });
    assert.match(again.stderr, /keep going to http:\/\/other-gateway/);
  });

  it('a missing bridge token is written again', async () => {
    rmSync(bridgePaths(sb).token);
    const start = await paddockOk(['start', sb], { env: keysEnv });
    assert.ok(start.stderr.includes(`note: ${sb}: its bridge token ${bridgePaths(sb).token} was missing: a new one was written`), start.stderr);
    assert.match((await paddockOk(['exec', sb, '--', 'cat', '/run/paddock/token'])).stdout, /^[A-Za-z0-9_-]{43}\n$/);
  });
});

describe('the workspace gone or replaced', () => {
  let ws: string;
  let sb: string;
  before(async () => {
    // No secrets in it: the hiding guard would stop the sandbox when a hidden file goes (its own test).
    ws = makeWorkspace({ 'a.txt': 'first\n' }, 'paddock-replaced-');
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
  });

  it('deleted and made again at the same path under a running sandbox: exec says so, start restarts it onto the new folder', async () => {
    const copy = `${ws}.clone`;
    cpSync(ws, copy, { recursive: true, preserveTimestamps: true });
    writeFileSync(`${copy}/b.txt`, 'from the new clone\n', { mode: 0o644 });
    // A clone belongs to the user, as the folder did (the copy is made by this test's user).
    for (const path of [copy, `${copy}/a.txt`, `${copy}/b.txt`]) chownSync(path, OWNER.uid, OWNER.gid);
    rmSync(ws, { recursive: true });
    renameSync(copy, ws);
    const exec = await paddock(['exec', sb, '--', 'ls']);
    assert.equal(exec.code, 126);
    assert.ok(exec.stderr.includes(`paddock: The workspace folder ${ws} was deleted and made again (cloned again?) while ${sb} ran: the sandbox still sees the old, deleted folder. "paddock start ${sb}" restarts it onto the new folder (its processes end; its state is kept, and the hide rules are expanded again).`), exec.stderr);
    const start = await paddockOk(['start', sb]);
    assert.ok(start.stderr.includes(`note: The workspace folder ${ws} was deleted and made again while ${sb} ran (it still saw the old, deleted folder): Paddock restarted it onto the new folder, with the hide rules expanded again; its processes ended, its state is kept.`), start.stderr);
    assert.doesNotMatch(start.stderr + exec.stderr, RAW_BYTES);
    assert.equal((await paddockOk(['exec', sb, '--', 'cat', 'b.txt'])).stdout, 'from the new clone\n');
    assert.doesNotMatch((await paddockOk(['ls'])).stdout.split('\n').find((l) => l.startsWith(`${sb} `)) ?? '', /outside Paddock/);
  });

  it('deleted: start says the folder is gone and offers rm; the sandbox stays until then', async () => {
    await paddockOk(['stop', sb]);
    rmSync(ws, { recursive: true });
    const start = await paddock(['start', sb]);
    assert.equal(start.code, 1);
    assert.equal(start.stderr, `paddock: The workspace folder ${ws} of ${sb} is gone (deleted or moved); a sandbox cannot start without its folder.\n  → Put the folder back at ${ws} (the sandbox and its state are kept until then), or remove the sandbox and its state with "paddock rm ${sb}".\n`);
    assert.equal(docker(['inspect', '-f', '{{.Name}}', sb]).stdout.trim(), `/${sb}`);
    await paddockOk(['rm', sb]);
    assert.equal(existsSync(bridgePaths(sb).dir), false);
  });
});

describe('a create that fails half-way leaves nothing behind', () => {
  const ws = makeWorkspace({ 'a.txt': 'a\n' }, 'paddock-failed-create-');
  const name = `paddock-failed-${process.pid}`;
  after(() => cleanup(ws));

  const nothingLeft = () => {
    assert.equal(existsSync(bridgePaths(name).dir), false, 'bridge state folder left');
    assert.equal(existsSync(egressPaths(name).dir), false, 'network state folder left');
    assert.notEqual(docker(['inspect', name]).code, 0, 'sandbox container left');
    assert.notEqual(docker(['inspect', egressNames(name).proxy]).code, 0, 'proxy left');
    assert.notEqual(docker(['network', 'inspect', egressNames(name).network]).code, 0, 'network left');
  };

  it('when the engine refuses the proxy container (its image is not there)', async () => {
    const image = `paddock-no-such-image-${process.pid}:none`;
    // A proxy container of its own is the own shape's (the shared shape's service is already running).
    const r = await paddock(['create', 'shell', ws, '--name', name], { env: { PADDOCK_EGRESS_IMAGE: image, PADDOCK_EGRESS_SHAPE: 'own' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^paddock: The image for the egress proxy is not on the engine \\(the engine said: .*${image}.*\\)\\. Nothing was created\\.\n  → Unset PADDOCK_EGRESS_IMAGE, or pull that image first\\.\n$`, 'm'));
    nothingLeft();
  });

  it('when the engine refuses the sandbox container itself (more CPUs than the machine has)', async () => {
    const r = await paddock(['create', 'shell', ws, '--name', name, '--cpus', '512']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /CPU/);
    nothingLeft();
  });
});
