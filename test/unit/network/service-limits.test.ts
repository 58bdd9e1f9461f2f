// The shared egress service serves every sandbox from one process with one limit of open files:
// one sandbox holding connections open must not take the others' egress. Two instances as the
// service makes them (./src/proxy/service.ts), on Unix sockets in folders of their own, loopback only.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_SOCKET_CONNECTIONS, startEgressInstance, type EgressInstance } from '../../../src/proxy/instance.js';

const opened = (path: string): Promise<Socket> => new Promise((resolve, reject) => {
  const s = connect(path, () => resolve(s));
  s.once('error', reject);
});

/** Whether the service closed the connection within `ms` (it sent nothing and was not asked anything). */
const closedWithin = (s: Socket, ms: number): Promise<boolean> => new Promise((resolve) => {
  if (s.destroyed) return resolve(true);
  const timer = setTimeout(() => resolve(false), ms);
  s.once('close', () => { clearTimeout(timer); resolve(true); });
  s.once('error', () => {});
});

const get = (socketPath: string, url: string): Promise<string> => new Promise((resolve) => {
  const s = connect(socketPath);
  let out = '';
  s.on('data', (d) => { out += d; }).on('error', (e) => { out += `ERR ${e.message}`; }).on('close', () => resolve(out));
  s.write(`GET ${url} HTTP/1.1\r\nConnection: close\r\n\r\n`);
});

describe('shared egress service: one sandbox\'s connections', () => {
  let root: string;
  let origin: Server;
  let url: string;
  const instances: EgressInstance[] = [];
  const held: Socket[] = [];
  const folder = (id: string) => {
    const dir = join(root, id);
    for (const sub of ['net', 'log', 'keys']) mkdirSync(join(dir, sub), { recursive: true });
    return dir;
  };
  const start = (id: string) => {
    const dir = folder(id);
    const instance = startEgressInstance({
      sandbox: `sb-${id}`, network: { policy: 'deny', allow: ['127.0.0.1'], deny: [] }, logFile: join(dir, 'log', 'egress.jsonl'),
      questionsFile: join(dir, 'log', 'questions.json'), socketDir: join(dir, 'net'), say: () => {},
    });
    instances.push(instance);
    return instance.listening;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'paddock-service-limits-'));
    origin = createServer((_q, s) => s.end('hello from the origin'));
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
    await start('aaaaaaaaaaaa');
    await start('bbbbbbbbbbbb');
  });

  after(() => {
    for (const s of held) s.destroy();
    for (const i of instances) i.close();
    origin?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('holds at most MAX_SOCKET_CONNECTIONS open at once; more are closed at once, logged once, and the other sandbox is served', async () => {
    const a = join(root, 'aaaaaaaaaaaa', 'net', 'proxy.sock');
    const b = join(root, 'bbbbbbbbbbbb', 'net', 'proxy.sock');
    // Idle connections: they send nothing, and nothing times them out.
    for (let i = 0; i < MAX_SOCKET_CONNECTIONS; i++) held.push(await opened(a));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(held.filter((s) => s.destroyed).length, 0, 'connections up to the bound stay open');
    const over = [await opened(a), await opened(a), await opened(a)];
    for (const s of over) assert.equal(await closedWithin(s, 2000), true, 'a connection over the bound is closed');
    // The other sandbox's connections are not counted against it.
    assert.match(await get(b, url), /hello from the origin/);
    const limits = readFileSync(join(root, 'aaaaaaaaaaaa', 'log', 'egress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.rule === 'too many connections');
    assert.equal(limits.length, 1, 'one log line for the burst, not one per connection');
    assert.equal(limits[0].decision, 'error');
    assert.match(limits[0].error, new RegExp(`more than ${MAX_SOCKET_CONNECTIONS} connections`));
    // Once some end, the sandbox is served again.
    for (const s of held.splice(0, 10)) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(await get(a, url), /hello from the origin/);
  });
});
