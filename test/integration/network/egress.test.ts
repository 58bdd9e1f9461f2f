// Network egress with real containers: the sandbox on its own internal network, its proxy the only
// way out. The "internet" is two web containers this test starts on its own --internal network
// (allowed.test = A; blocked.test, rebind.test, other.test = B). No traffic leaves this machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { egressPaths } from '../../../src/engine/egressFiles.js';
import { CLI, cleanup, docker, httpText, makeWorkspace, paddock, paddockOk } from '../../support/sandbox.js';
import { ipv4Forms, useLocalInternet, type LocalInternet } from './support.js';

const labelled = (kind: 'container' | 'network', sandbox: string) => docker(kind === 'container'
  ? ['ps', '-a', '--filter', `label=dev.paddock.egress-for=${sandbox}`, '--format', '{{.Names}}']
  : ['network', 'ls', '--filter', `label=dev.paddock.egress-for=${sandbox}`, '--format', '{{.Name}}']).stdout.trim();

describe('network egress', () => {
  let net: LocalInternet & { stateDir: string };
  let ws: string;
  let sb: string;
  let hostServer: Server;
  let hostPort: number;

  const sh = (command: string) => paddock(['exec', sb, '--', 'sh', '-c', command]);

  before(async () => {
    // The proxy goes out through the test's network instead of Docker's default bridge.
    net = await useLocalInternet('paddock-netstate-');
    ws = makeWorkspace({
      '.paddock/policy.yaml': [
        'network:',
        '  policy: deny',
        // A's address is allowed as an address too: names never lead to private addresses otherwise.
        `  allow: [allowed.test, rebind.test, "${net.a}"]`,
        '  deny: [blocked.test]',
        '',
      ].join('\n'),
      // Not *.pem: the default policy hides those from the sandbox.
      'test-ca.crt': net.cert,
    });
    sb = (await paddockOk(['create', 'shell', ws])).stdout.trim();
    // A service on the host, on all interfaces: the sandbox must not reach it either.
    hostServer = createServer((_q, s) => s.end('host service\n'));
    await new Promise<void>((r) => hostServer.listen(0, '0.0.0.0', r));
    hostPort = (hostServer.address() as { port: number }).port;
  });

  after(async () => {
    hostServer?.close();
    if (ws) await cleanup(ws);
    net?.stop();
  });

  it('reaches an allowed host through the proxy, over HTTP and HTTPS (CONNECT, the server\'s own certificate)', async () => {
    const http = await sh('curl -sS -m 10 http://allowed.test/');
    assert.equal(http.stdout, 'hello from a host=allowed.test\n', http.stderr);
    // TLS is end to end: curl verifies the server's self-signed certificate, so the proxy cannot be in the middle.
    const https = await sh('curl -sS -m 10 --cacert test-ca.crt https://allowed.test/');
    assert.equal(https.stdout, 'hello from a host=allowed.test\n', https.stderr);
    const post = await sh('curl -sS -m 10 -d payload=1 http://allowed.test/');
    assert.equal(post.stdout, 'hello from a host=allowed.test body=payload=1\n');
  });

  it('refuses a denied host with a 403 that names the rule, for HTTP and HTTPS', async () => {
    const r = await sh('curl -sS -m 10 -i http://blocked.test/');
    assert.match(r.stdout, /^HTTP\/1\.1 403 Forbidden/);
    assert.match(r.stdout, /X-Paddock-Rule: deny blocked\.test/);
    assert.match(r.stdout, /blocked\.test:80 is not allowed \(rule: deny blocked\.test\)/);
    assert.doesNotMatch(r.stdout, /hello from/);
    const tls = await sh('curl -sS -m 10 --cacert test-ca.crt https://blocked.test/');
    assert.notEqual(tls.code, 0);
    assert.match(tls.stderr, /CONNECT tunnel failed, response 403/);
    const other = await sh('curl -sS -m 10 -o /dev/null -w "%{http_code} " -D - http://other.test/');
    assert.match(other.stdout, /X-Paddock-Rule: policy deny/);
    assert.match(other.stdout, /403 $/);
  });

  it('has no route out without the proxy: no address, no name, not even the host', async () => {
    const direct = await sh(`curl -sS -m 3 --noproxy '*' http://${net.a}/`);
    assert.notEqual(direct.code, 0);
    assert.doesNotMatch(direct.stdout, /hello/);
    const byName = await sh(`curl -sS -m 3 --noproxy '*' http://allowed.test/`);
    assert.notEqual(byName.code, 0);
    assert.match(byName.stderr, /resolv/i);
    assert.notEqual((await sh('getent hosts allowed.test')).code, 0);
    // The gateway of the sandbox's network and Docker's default bridge are addresses of this host.
    const gateway = docker(['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', JSON.parse(docker(['inspect', sb]).stdout)[0].HostConfig.NetworkMode]).stdout.trim();
    for (const hostAddress of [gateway, '172.17.0.1'].filter(Boolean)) {
      const r = await sh(`curl -sS -m 3 --noproxy '*' http://${hostAddress}:${hostPort}/`);
      assert.notEqual(r.code, 0, `host service reachable at ${hostAddress}`);
      assert.doesNotMatch(r.stdout, /host service/);
    }
  });

  it('refuses IP literals in every spelling unless an address rule allows them', async () => {
    const b = ipv4Forms(net.b);
    for (const spelling of [net.b, b.decimal, b.hex]) {
      const r = await sh(`curl -sS -m 10 -o /dev/null -w "%{http_code}" -D - http://${spelling}/`);
      assert.match(r.stdout, /X-Paddock-Rule: policy deny/, spelling);
      assert.match(r.stdout, /403$/, spelling);
    }
    const tunnel = await sh(`curl -sS -m 10 -p http://${b.decimal}/`);
    assert.match(tunnel.stderr, /CONNECT tunnel failed, response 403/);
    // A's address is allowed by an address rule, in any spelling.
    const a = ipv4Forms(net.a);
    assert.match((await sh(`curl -sS -m 10 http://${a.hex}/`)).stdout, /^hello from a /);
  });

  it('refuses a Host header or CONNECT authority that smuggles another host', async () => {
    const header = await sh('curl -sS -m 10 -i -H "Host: blocked.test" http://allowed.test/');
    assert.match(header.stdout, /^HTTP\/1\.1 400/);
    assert.match(header.stdout, /X-Paddock-Rule: host header mismatch/);
    assert.doesNotMatch(header.stdout, /hello from/);
    const connectHost = await sh('curl -sS -m 10 -p --proxy-header "Host: blocked.test:80" http://allowed.test/');
    assert.match(connectHost.stderr, /CONNECT tunnel failed, response 400/);
    // Raw CONNECT with userinfo, and with a trailing-dot spelling of the denied host.
    const raw = await sh(`node -e '
      const net = require("net");
      const ask = (line) => new Promise((r) => { const s = net.connect(3128, "paddock-egress"); let o = ""; s.on("data", (c) => o += c); s.on("close", () => r(o.split("\\r\\n")[0])); s.write(line + "\\r\\n\\r\\n"); setTimeout(() => s.destroy(), 3000); });
      (async () => { for (const l of ["CONNECT blocked.test@allowed.test:80 HTTP/1.1", "CONNECT BLOCKED.test.:80 HTTP/1.1", "GET http://allowed.test@blocked.test/ HTTP/1.1\\r\\nHost: blocked.test"]) console.log(await ask(l)); })();'`);
    assert.deepEqual(raw.stdout.trim().split('\n'), ['HTTP/1.1 400 Bad Request', 'HTTP/1.1 403 Forbidden', 'HTTP/1.1 400 Bad Request'], raw.stderr);
  });

  it('keeps plain HTTP in a tunnel to the tunnel\'s host (Host fronting through curl --proxytunnel)', async () => {
    // curl -p opens CONNECT allowed.test:80, then asks the server in it for blocked.test, which the same
    // stand-in server answers for, as a shared front would.
    const fronted = await sh('curl -sS -m 10 -i -p -H "Host: blocked.test" http://allowed.test/');
    assert.match(fronted.stdout, /HTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: host header mismatch/, fronted.stderr);
    assert.doesNotMatch(fronted.stdout, /hello from/);
    const own = await sh('curl -sS -m 10 -p http://allowed.test/');
    assert.equal(own.stdout, 'hello from a host=allowed.test\n', own.stderr);
  });

  it('decides every request in a tunnel that starts with empty lines or loose whitespace, and frames a GET\'s body (red team F1, F2)', async () => {
    // Raw bytes from the sandbox to its proxy, as an attacker writes them (curl would tidy them up).
    const rawToProxy = (payload: string) => sh(`node -e '
      const s = require("net").connect(3128, "paddock-egress"); let o = "";
      let quiet = setTimeout(() => s.destroy(), 8000);
      s.on("data", (c) => { o += c; clearTimeout(quiet); quiet = setTimeout(() => s.destroy(), 1500); });
      s.on("close", () => process.stdout.write(o)); s.on("error", () => {});
      s.write(Buffer.from(process.argv[1], "base64"));' ${Buffer.from(payload).toString('base64')}`);
    const denials = async () => JSON.parse((await paddockOk(['network', 'log', sb, '--json', '--decision', 'deny'])).stdout) as any[];
    const tunnel = 'CONNECT allowed.test:80 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n';
    const before = (await denials()).length;
    for (const [name, request] of [
      ['CRLF first', '\r\nPOST /exfil HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 11\r\nConnection: close\r\n\r\nsecret=1234'],
      ['bare LF first', '\nGET /lf HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n'],
      ['two spaces', 'GET  /secret HTTP/1.1\r\nHost: blocked.test\r\nConnection: close\r\n\r\n'],
    ]) {
      // The stand-in server answers for any Host, as a shared front would.
      const r = await rawToProxy(tunnel + request);
      assert.match(r.stdout, /^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 400 Bad Request[\s\S]*X-Paddock-Rule: host header mismatch/, `${name}: ${r.stdout} ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /hello from/, name);
    }
    // A GET whose chunked body holds a request for blocked.test: the server reads it as the GET's body.
    const smuggled = 'POST /smuggled HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 11\r\n\r\nsecret=5678';
    const get = await rawToProxy(`GET http://allowed.test/ HTTP/1.1\r\nHost: allowed.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${Buffer.byteLength(smuggled).toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`);
    assert.match(get.stdout, /hello from a host=allowed\.test body=POST \/smuggled HTTP\/1\.1/, get.stderr);
    assert.doesNotMatch(get.stdout, /host=blocked\.test\n/);
    // Each refused request in a tunnel is a line of its own in the log.
    const entries = (await denials()).slice(before);
    const fronted = entries.filter((e) => e.host === 'allowed.test' && e.rule === 'host header mismatch' && e.method !== 'CONNECT');
    assert.deepEqual(fronted.map((e) => e.method).sort(), ['GET', 'GET', 'POST'], JSON.stringify(entries));
  });

  it('cuts a tunnel to an allowed host whose TLS asks for a denied one (SNI fronting)', async () => {
    // curl opens CONNECT allowed.test:443 but asks the server for blocked.test in its ClientHello.
    const r = await sh('curl -sS -m 10 -k --connect-to blocked.test:443:allowed.test:443 https://blocked.test/');
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /hello from/);
    const entries = JSON.parse((await paddockOk(['network', 'log', sb, '--json', '--decision', 'deny'])).stdout) as any[];
    assert.ok(entries.some((e) => e.method === 'CONNECT' && e.host === 'allowed.test' && e.rule === 'tls server name mismatch (blocked.test)'), JSON.stringify(entries.slice(-3)));
  });

  it('refuses an allowed name that resolves to a private address no address rule allows (DNS rebinding)', async () => {
    const r = await sh('curl -sS -m 10 -i http://rebind.test/');
    assert.match(r.stdout, /^HTTP\/1\.1 403/);
    assert.match(r.stdout, new RegExp(`X-Paddock-Rule: private [0-9./]+ address \\(rebind\\.test resolved to ${net.b.replace(/\./g, '\\.')}\\)`));
  });

  it('logs both decisions with their rules, and paddock network log prints them (text, --json, --decision, -n)', async () => {
    const json = JSON.parse((await paddockOk(['network', 'log', sb, '--json'])).stdout) as any[];
    const allowed = json.find((e) => e.host === 'allowed.test' && e.method === 'GET' && e.decision === 'allow');
    assert.ok(allowed, 'an allowed GET is logged');
    assert.equal(allowed.rule, 'allow allowed.test');
    assert.equal(allowed.sandbox, sb);
    assert.equal(allowed.port, 80);
    assert.equal(allowed.address, net.a);
    assert.ok(allowed.bytesReceived > 0);
    assert.ok(!Number.isNaN(Date.parse(allowed.time)));
    const tunnel = json.find((e) => e.host === 'allowed.test' && e.method === 'CONNECT' && e.port === 443);
    assert.equal(tunnel?.decision, 'allow');
    assert.ok(tunnel.bytesSent > 0 && tunnel.bytesReceived > 0, 'TLS bytes counted both ways');
    const denied = json.find((e) => e.host === 'blocked.test' && e.decision === 'deny');
    assert.equal(denied.rule, 'deny blocked.test');
    // IP literals are logged in their normalised form, whatever the client wrote.
    assert.ok(json.some((e) => e.host === net.b && e.decision === 'deny' && e.rule === 'policy deny'));

    const text = (await paddockOk(['network', 'log', sb])).stdout;
    assert.match(text, /ALLOW\s+GET\s+allowed\.test:80\s+allow allowed\.test\s+200/);
    assert.match(text, /DENY\s+GET\s+blocked\.test:80\s+deny blocked\.test\s+403/);
    assert.match(text, /DENY\s+CONNECT\s+blocked\.test:443\s+deny blocked\.test/);
    const onlyDenied = JSON.parse((await paddockOk(['network', 'log', sb, '--json', '--decision', 'deny'])).stdout) as any[];
    assert.ok(onlyDenied.length > 0 && onlyDenied.every((e) => e.decision === 'deny'));
    const last = JSON.parse((await paddockOk(['network', 'log', ws, '--json', '-n', '1'])).stdout) as any[];
    assert.deepEqual(last, [json.at(-1)]);
    const bad = await paddock(['network', 'log', sb, '--decision', 'maybe']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Unknown decision "maybe"[\s\S]*allow, deny, error/);
  });

  it('follows the log with -f', async () => {
    const child = spawn(process.execPath, [CLI, 'network', 'log', sb, '-f', '--json', '-n', '0'], { env: process.env });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    try {
      // It says when it follows: a request before that counts as old (and -n 0 skips old ones).
      for (let i = 0; i < 100 && !err.includes('Following'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(err, new RegExp(`^Following the network log of ${sb} \\(Ctrl\\+C to stop\\)\\.$`, 'm'));
      await sh('curl -sS -m 10 http://allowed.test/followed');
      // Whole lines only: the output may arrive mid-line.
      for (let i = 0; i < 100 && !(out.includes('"decision":"allow"') && out.endsWith('\n')); i++) await new Promise((r) => setTimeout(r, 100));
      const lines = out.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].host, 'allowed.test');
      assert.equal(lines[0].rule, 'allow allowed.test');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('paddock network check says what the proxy would decide, without sending anything', async () => {
    assert.match((await paddockOk(['network', 'check', sb, 'BLOCKED.test.:443'])).stdout, /^DENY blocked\.test:443 \(rule: deny blocked\.test\)/);
    assert.match((await paddockOk(['network', 'check', sb, 'allowed.test'])).stdout, /^ALLOW allowed\.test:443 \(rule: allow allowed\.test\)/);
    const r = await paddock(['network', 'check', sb, 'evil.test@allowed.test']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not a host/);
  });

  it('stops and starts the proxy with the sandbox; rm removes proxy, network and log', async () => {
    // The engine's shared egress service serves the sandbox through the sockets in its folder: a stop
    // closes them, a start opens them again. It has no network interface and no proxy of its own.
    const proxySocket = join(egressPaths(sb, net.stateDir).socketsDir, 'proxy.sock');
    assert.equal(existsSync(proxySocket), true);
    await paddockOk(['stop', sb]);
    assert.equal(existsSync(proxySocket), false, 'proxy stopped');
    await paddockOk(['start', sb]);
    assert.equal((await sh('curl -sS -m 10 http://allowed.test/')).stdout, 'hello from a host=allowed.test\n');
    assert.equal(docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', sb]).stdout.trim(), 'none');
    assert.equal(labelled('container', sb), '');
    assert.equal(labelled('network', sb), '');
    await paddockOk(['rm', sb]);
    assert.equal(labelled('container', sb), '');
    assert.equal(labelled('network', sb), '');
    assert.equal(existsSync(egressPaths(sb, net.stateDir).dir), false, 'log folder removed');
    assert.match((await paddock(['network', 'log', sb])).stderr, /No sandbox named/);
  });

  it('refuses bad network rules with the place and the fix, and creates nothing', async () => {
    const bad = makeWorkspace({ '.paddock/policy.yaml': 'network:\n  allow: ["*", "a.*.test", "x.test:99999"]\n' });
    try {
      const r = await paddock(['create', 'shell', bad]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /network\.allow\[0\]: "\*": to allow every host, set network\.policy to allow/);
      assert.match(r.stderr, /network\.allow\[1\]/);
      assert.match(r.stderr, /network\.allow\[2\]/);
      assert.equal(JSON.parse((await paddockOk(['ls', '--json', '-w', bad])).stdout).length, 0);
    } finally {
      await cleanup(bad);
    }
  });
});

describe('published ports behind the egress proxy', () => {
  it('forwards published ports into the sandbox through the proxy, on 127.0.0.1', async () => {
    // Docker publishes nothing from internal networks: this sandbox's proxy uses the default bridge
    // (it sends nothing: the sandbox only answers).
    const ws = makeWorkspace({});
    try {
      const sb = (await paddockOk(['create', 'shell', ws, '-p', '3000'])).stdout.trim();
      const sh = (command: string) => paddock(['exec', sb, '--', 'sh', '-c', command]);
      const info = JSON.parse((await paddockOk(['inspect', sb, '--json'])).stdout);
    const port = info.ports.find((p: any) => p.containerPort === 3000);
    assert.equal(port.hostIp, '127.0.0.1');
    assert.ok(port.hostPort > 0);
    await sh(`nohup node -e 'require("http").createServer((q, s) => s.end("from inside\\n")).listen(3000)' >/dev/null 2>&1 &`);
    let body = '';
    for (let i = 0; i < 50 && !body; i++) {
      body = await httpText(`http://127.0.0.1:${port.hostPort}/`);
      if (!body) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, 'from inside\n');
    // Listings show the live binding while it runs, and what was asked once it is stopped.
    const listed = () => paddockOk(['ls', '--json', '-w', ws]).then((r) => JSON.parse(r.stdout)[0].ports);
    assert.deepEqual(await listed(), [{ containerPort: 3000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port.hostPort }]);
    await paddockOk(['stop', sb]);
    assert.deepEqual(await listed(), [{ containerPort: 3000, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0 }], 'Docker picks the port at each start');
    } finally {
      await cleanup(ws);
    }
  });

});
