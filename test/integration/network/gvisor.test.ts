// gVisor (runsc) sandboxes. Debian's runsc runs only with --network=none: such a sandbox has no
// network interface at all, so it reaches its egress proxy through the proxy's Unix sockets (a
// forwarder inside puts them on loopback as paddock-egress:3128/3130) and the bridge through its
// Unix socket; both need runsc's --host-uds=open (scripts/ensure-engine.sh registers it so).
// The "internet" is the local one of ./support.ts. No traffic leaves this machine.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostSandboxBridge } from '../../../src/bridge/host.js';
import { runtimeTraits } from '../../../src/engine/runtime.js';
import { cleanup, docker, engine, makeWorkspace, paddock, paddockOk, stopsWithin } from '../../support/sandbox.js';
import { dockerAsync, INIT_REQUEST } from '../bridge/support.js';
import { useLocalInternet, type LocalInternet } from './support.js';

const engineRuntimes = JSON.parse(docker(['info', '--format', '{{json .Runtimes}}']).stdout || '{}');
const traits = engineRuntimes.runsc ? runtimeTraits('runsc', engineRuntimes) : undefined;

if (!traits) {
  describe('gVisor on an engine without it', () => {
    it('--runtime runsc is refused with the runtimes the engine has', async () => {
      const ws = makeWorkspace();
      try {
        const r = await paddock(['create', 'shell', ws, '--runtime', 'runsc']);
        assert.match(r.stderr, /no runtime "runsc".*Available runtimes: .*runc/s);
      } finally {
        await cleanup(ws);
      }
    });
  });
} else describe('gVisor sandboxes: egress, key injection and the bridge without a network interface', () => {
  let net: LocalInternet;
  let ws: string;
  let sb: string;
  const sh = (command: string) => paddock(['exec', sb, '--', 'sh', '-c', command]);

  before(async () => {
    net = await useLocalInternet('paddock-gvisor-');
    ws = makeWorkspace({ '.env': 'TOKEN=gvisor-original\n', '.paddock/policy.yaml': ['network:', '  policy: deny', `  allow: [allowed.test, "${net.a}"]`, '  deny: [blocked.test]', ''].join('\n') });
  });
  after(async () => {
    if (ws) await cleanup(ws);
    net?.stop();
  });

  it('creates a runsc sandbox that reaches an allowed host only through its proxy, over the Unix socket', async () => {
    assert.ok(traits.networkNone && traits.hostUnixSockets, 'this machine registers runsc with --network=none --host-uds=open (scripts/ensure-engine.sh)');
    assert.match((await paddockOk(['info'])).stdout, /^gVisor: {3}runsc: network none \(egress over Unix sockets\); host Unix sockets allowed$/m);
    const created = await paddockOk(['create', 'shell', ws, '--runtime', 'runsc'], { env: { ANTHROPIC_API_KEY: 'sk-ant-gvisor-test-key-0123456789', ANTHROPIC_BASE_URL: 'http://allowed.test' } });
    sb = created.stdout.trim();
    assert.doesNotMatch(created.stderr, /no network/);
    const r = await sh('cat /proc/net/route | wc -l; curl -sS -m 10 http://allowed.test/; curl -s -o /dev/null -w "%{http_code}\\n" -m 10 http://blocked.test/');
    assert.match(r.stdout, /^1\nhello from a host=allowed.test\n403\n$/, r.stderr);
    const log = (await paddockOk(['network', 'log', sb, '--json'])).stdout;
    assert.ok((JSON.parse(log) as { host: string; decision: string }[]).some((e) => e.host === 'allowed.test' && e.decision === 'allow'));
  });

  it('key injection works there too: the request reaches the upstream through keys.sock', async () => {
    const r = await sh('curl -sS -m 10 -H "x-api-key: $ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_BASE_URL/v1/messages"');
    assert.match(r.stdout, /^hello from a host=allowed.test$/m, r.stderr);
  });

  it('the bridge is reached over its Unix socket (paddock-mcp answers the handshake)', async () => {
    const hosted = await hostSandboxBridge(engine(), sb);
    try {
      assert.equal(hosted.transport, 'unix');
      assert.deepEqual(hosted.notes, []);
      const r = await dockerAsync(['exec', '-i', '-u', 'agent', sb, 'sh', '-c', `printf '%s\\n' '${INIT_REQUEST}' | /run/paddock/paddock-mcp`]);
      assert.match(r.stdout, /"serverInfo":\{"name":"paddock-bridge"/, r.stderr);
    } finally {
      await hosted.close();
    }
  });

  it('a hidden file replaced on the host stops it from inside: gVisor keeps the mount but shows the new file, and the guard sees it is no longer /dev/null', async () => {
    assert.equal((await sh('cat .env')).stdout, '', 'hidden');
    writeFileSync(join(ws, 'editor-save-tmp'), 'TOKEN=gvisor-replaced\n');
    renameSync(join(ws, 'editor-save-tmp'), join(ws, '.env'));
    assert.ok(await stopsWithin(sb, 10_000), 'the sandbox stopped itself');
    assert.match(docker(['logs', sb]).stderr, new RegExp(`protection lifted: ${join(ws, '.env')} \\(hidden\\) replaced or removed on the host`));
  });
});
