// Which known values the bridge's masker holds, and when it learns new ones: the hidden files'
// values re-read when a file changes (red team F2), the cap keeping what output prints most (F4),
// a target the last refresh did not see (F3), inspect's command (F8), and a log tail that starts
// inside a long line (F5). The engine is a stand-in: its list and inspect.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { rulesFor } from '../../../src/bridge/host.js';
import { BridgeService } from '../../../src/bridge/service.js';
import { MASK } from '../../../src/core/masking.js';
import { policySchema } from '../../../src/core/policy.js';
import { frame } from '../../support/frames.js';

const folders: string[] = [];
after(() => { for (const f of folders) rmSync(f, { recursive: true, force: true }); });

function workspace(files: Record<string, string>): string {
  const ws = mkdtempSync(join(tmpdir(), 'pbt-known-'));
  folders.push(ws);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(ws, path, '..'), { recursive: true });
    writeFileSync(join(ws, path), text);
  }
  return ws;
}

/** An engine with these containers (name -> env), enough for the masker's refresh. */
function fakeEngine(containers: Map<string, string[]>, commands = new Map<string, string[]>(), logFrames: Buffer[] = []): Docker {
  return {
    listContainers: async () => [...containers.keys()].map((name) => ({ Id: `id-${name}`, Names: [`/${name}`], Image: 'img', State: 'running', Status: 'Up', Labels: {} })),
    getContainer: (id: string) => ({
      // The engine's tail counts entries, and each piece of a long line is one.
      logs: async (options: { tail?: number }) => Buffer.concat(options.tail ? logFrames.slice(-options.tail) : logFrames),
      inspect: async () => {
        const name = id.replace(/^id-/, '');
        const env = containers.get(name);
        if (!env) throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { Id: id, Name: `/${name}`, Created: '', Config: { Env: env, Labels: {}, Image: 'img', Cmd: commands.get(name) }, State: { Status: 'running', Running: true }, HostConfig: {} };
      },
    }),
  } as unknown as Docker;
}

const policy = (hide: string[]) => policySchema.parse({ hide, bridge: { containers: ['app*'] } });
const stats = () => ({ count: 0, rules: {} as Record<string, number> });
/** Past one look at the hidden files (host.ts HIDDEN_LOOK_MS): the next call's. */
const nextCall = () => new Promise((r) => setTimeout(r, 250));

describe('hidden values learned mid-session', () => {
  it('a value added to a hidden .env is masked from the next call on, within the refresh interval', async () => {
    const ws = workspace({ '.env': 'SERVICE_KEY=root-5a1f0c9e2b\n' });
    const service = new BridgeService(fakeEngine(new Map([['app', []]])), rulesFor(policy(['.env']), ws));
    assert.equal(await service.mask('service root-5a1f0c9e2b\n', stats()), `service ${MASK}\n`);
    const fresh = 'fresh-4f066e3109a1dbbd';
    assert.equal(await service.mask(`loaded FEATURE_FLAG_SEED=${fresh}\n`, stats()), `loaded FEATURE_FLAG_SEED=${fresh}\n`, 'not known yet');
    appendFileSync(join(ws, '.env'), `FEATURE_FLAG_SEED=${fresh}\n`);
    await nextCall();
    const after = await service.mask(`loaded FEATURE_FLAG_SEED=${fresh}\n`, stats());
    assert.ok(!after.includes(fresh) && after.includes(MASK), after);
  });

  it('a value rotated in place (same size) and a new file in a hidden folder are learned too; nothing changed keeps the same values', async () => {
    const ws = workspace({ '.env': 'A=first-value-0001\n', 'secrets/one': 'one-value-aaaa\n' });
    const rules = rulesFor(policy(['.env', 'secrets/**']), ws);
    const before = rules.knownSecrets!;
    await nextCall();
    assert.equal(rules.knownSecrets, before, 'the same array while nothing changed');
    writeFileSync(join(ws, '.env'), 'A=second-value-002\n');
    await nextCall();
    assert.ok(rules.knownSecrets!.includes('second-value-002'), JSON.stringify(rules.knownSecrets));
    writeFileSync(join(ws, 'secrets', 'two'), 'two-value-bbbb\n');
    await nextCall();
    assert.ok(rules.knownSecrets!.includes('two-value-bbbb'), JSON.stringify(rules.knownSecrets));
  });
});

describe('the known-value cap keeps what output prints most', () => {
  it('a big hidden state file does not push out container env secrets or a small .env', async () => {
    // 150 resources of a terraform state: well over 1,000 learned values.
    const resources = Array.from({ length: 150 }, (_, i) => ({ type: 'aws_instance', name: `r${i}`, instances: [{ attributes: Object.fromEntries(Array.from({ length: 14 }, (_, j) => [`attr_${j}`, `value-${i}-${j}-${'x'.repeat(8)}`])) }] }));
    const ws = workspace({
      '.env': 'SERVICE_KEY=root-81f91e4b05\n',
      'infra/terraform.tfstate': JSON.stringify({ version: 4, resources }, null, 2),
      'services/api/.env': 'STRIPE_WEBHOOK=api-132631cea7aa\n',
    });
    const engine = fakeEngine(new Map([['app', ['API_TOKEN=tok-81f91e4b05c1c81fec3d', 'PATH=/usr/bin']]]));
    const service = new BridgeService(engine, rulesFor(policy(['**/.env', '**/*.tfstate']), ws));
    const out = await service.mask('api token is tok-81f91e4b05c1c81fec3d\nwebhook api-132631cea7aa\nservice root-81f91e4b05\n', stats());
    assert.equal(out, `api token is ${MASK}\nwebhook ${MASK}\nservice ${MASK}\n`);
  });
});

describe('a target the last refresh did not see', () => {
  it("a container created after the last refresh has its secret env masked at once, not after the refresh interval", async () => {
    const containers = new Map([['app', ['API_TOKEN=tok-a0f892302229158a10a7']]]);
    const service = new BridgeService(fakeEngine(containers), rulesFor(policy([])));
    assert.equal(await service.mask('x tok-a0f892302229158a10a7\n', stats()), `x ${MASK}\n`);
    containers.set('app-late', ['LATE_TOKEN=late-d77c4c89caffbe63']);
    const late = (await service.containers()).find((c) => c.name === 'app-late')!;
    assert.equal(await service.mask('late token is late-d77c4c89caffbe63\n', stats(), false, late), `late token is ${MASK}\n`);
  });
});

describe("inspect_container's command", () => {
  it('shows no value of a secret flag given as a separate argument (--requirepass X, --password X)', async () => {
    const engine = fakeEngine(new Map([['app', []]]), new Map([['app', ['redis-server', '--requirepass', 'R3dis-8e4c0d22880d1d8a', '--password', 'My5qlPassw0rdX', '--port', '6379']]]));
    const service = new BridgeService(engine, rulesFor(policy([])));
    const app = (await service.containers()).find((c) => c.name === 'app')!;
    const text = await service.inspect(app, stats());
    assert.ok(!text.includes('R3dis-8e4c0d22880d1d8a') && !text.includes('My5qlPassw0rdX'), text);
    assert.match(text, /"--requirepass",\s*"\[MASKED\]"/);
    assert.match(text, /"--port",\s*"6379"/);
  });
});

describe('a log tail that starts inside a line the engine cut into pieces', () => {
  it("leaves out a first piece whose line started before the window, instead of showing its value without its label", async () => {
    const value = 'Yk7-384c552dedd3b30e';
    const frames = [
      frame(1, 'first line\n'),
      frame(1, `${'x'.repeat(16375)}password=`),
      frame(1, `${value} end\n`),
      frame(2, 'a warning\n'),
      frame(1, 'last line\n'),
    ];
    const service = new BridgeService(fakeEngine(new Map([['app', []]]), new Map(), frames), rulesFor(policy([])));
    const app = (await service.containers()).find((c) => c.name === 'app')!;
    for (const tail of [1, 2, 3, 4, 5, 6]) {
      const text = await service.logs(app, { tail }, stats());
      assert.ok(!text.includes(value) && !text.includes(value.slice(4)), `tail ${tail}: ${text.slice(-200)}`);
      assert.match(text, /last line/);
    }
    assert.equal(await service.logs(app, { tail: 2 }, stats()), 'a warning\nlast line\n');
    assert.match(await service.logs(app, { tail: 5 }, stats()), /^first line\n/, 'the whole log: nothing left out');
  });
});
