// A ClientHello split over two TLS records (and two TCP segments), sent from inside a real sandbox
// through its real egress proxy container, in a CONNECT tunnel to an allowed host: naming a denied
// host, it must not reach the server; naming the allowed host, the server answers. The "internet"
// is the test's own --internal network (allowed.test serves HTTPS on 443).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanup, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { useLocalInternet, type LocalInternet } from './support.js';

// Runs in the sandbox: makes a real ClientHello for argv[1] (node's TLS client against a loopback
// catcher), cuts its message at argv[2] into two records, sends them 100 ms apart through
// CONNECT allowed.test:443, and prints the first bytes the server sends back (16 03: a ServerHello).
const SPLIT_HELLO = `
const net = require('net'), tls = require('tls');
const name = process.argv[2], cut = Number(process.argv[3]);
const catcher = net.createServer((s) => {
  let got = Buffer.alloc(0);
  s.on('data', (c) => {
    got = Buffer.concat([got, c]);
    if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) { s.destroy(); catcher.close(); send(got); }
  });
});
catcher.listen(0, '127.0.0.1', () => tls.connect({ port: catcher.address().port, host: '127.0.0.1', servername: name, rejectUnauthorized: false }).on('error', () => {}));
function send(hello) {
  const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const record = (p) => Buffer.concat([Buffer.from([0x16, 3, 1, p.length >> 8, p.length & 255]), p]);
  const s = net.connect(3128, 'paddock-egress');
  s.setNoDelay(true);
  let connected = false, back = Buffer.alloc(0);
  const report = () => { console.log('answer ' + (back.length ? back.subarray(0, 2).toString('hex') : 'none')); process.exit(0); };
  s.on('data', (c) => {
    if (connected) { back = Buffer.concat([back, c]); return; }
    connected = true;
    console.log('tunnel ' + c.toString().split('\\r\\n')[0]);
    s.write(record(message.subarray(0, cut)));
    setTimeout(() => s.write(record(message.subarray(cut))), 100);
  });
  s.on('error', () => {});
  s.on('close', report);
  setTimeout(report, 4000);
  s.write('CONNECT allowed.test:443 HTTP/1.1\\r\\nHost: allowed.test:443\\r\\n\\r\\n');
}
`;

describe('split ClientHello through the real egress proxy', () => {
  let net: LocalInternet & { stateDir: string };
  let ws: string;
  let sb: string;

  before(async () => {
    net = await useLocalInternet('paddock-sni-split-');
    ws = makeWorkspace({
      '.paddock/policy.yaml': `network:\n  policy: deny\n  allow: [allowed.test, "${net.a}"]\n  deny: [blocked.test]\n`,
      'split-hello.js': SPLIT_HELLO,
    });
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
    net?.stop();
  });

  const send = async (name: string, cut: number) => {
    const r = await paddock(['exec', sb, '--', 'node', 'split-hello.js', name, String(cut)]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  it('the server answers a split hello that names the allowed host (the test can see a pass)', async () => {
    const out = await send('allowed.test', 40);
    assert.match(out, /^tunnel HTTP\/1\.1 200/m);
    assert.match(out, /^answer 1603$/m, out);
  });

  it('a split hello naming a denied host is cut before the server sees it, and logged with the reason', async () => {
    for (const cut of [1, 40, 90]) {
      const out = await send('blocked.test', cut);
      assert.match(out, /^tunnel HTTP\/1\.1 200/m);
      assert.match(out, /^answer none$/m, `cut at ${cut}: ${out}`);
    }
    const denied = JSON.parse((await paddockOk(['network', 'log', sb, '--json', '--decision', 'deny'])).stdout) as any[];
    const cuts = denied.filter((e) => e.method === 'CONNECT' && e.host === 'allowed.test' && e.rule === 'tls server name mismatch (blocked.test)');
    assert.equal(cuts.length, 3, JSON.stringify(denied.slice(-3)));
  });
});
