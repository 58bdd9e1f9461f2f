// A local "internet" for egress tests: web server containers on a network the test creates, named
// through Docker's resolver (network aliases). The network is --internal, so nothing a test does
// can leave this machine, even by mistake. The sandbox's proxy joins it via PADDOCK_EGRESS_NETWORK.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceName } from '../../../src/engine/egressService.js';
import { docker, makeWorkspace, paddockOk, cleanup } from '../../support/sandbox.js';

const SERVER = `
const http = require('http'), https = require('https'), fs = require('fs');
const name = process.env.WEB_NAME;
const handle = (q, s) => {
  if (q.url.startsWith('/big')) { s.setHeader('Content-Type', 'application/octet-stream'); s.end(Buffer.alloc(Number(q.url.split('/')[2] || 1048576), 97)); return; }
  let body = ''; q.on('data', (c) => body += c); q.on('end', () => s.end('hello from ' + name + ' host=' + q.headers.host + (body ? ' body=' + body : '') + '\\n'));
};
http.createServer(handle).listen(80);
if (fs.existsSync('/tls/key.pem')) https.createServer({ key: fs.readFileSync('/tls/key.pem'), cert: fs.readFileSync('/tls/cert.pem') }, handle).listen(443);
console.log('web ready');
`;

export interface LocalInternet {
  readonly network: string;
  readonly image: string;
  /** Web server A ("allowed.test"): its address on the test network. */
  readonly a: string;
  /** Web server B ("blocked.test", "rebind.test", "other.test"). */
  readonly b: string;
  /** PEM of A's self-signed certificate for allowed.test (HTTPS on 443). */
  readonly cert: string;
  stop(): void;
}

/** The newest Paddock base image (it has node); builds the templates once through the CLI when there is none. */
export async function baseImage(): Promise<string> {
  const find = () => docker(['images', '--filter', 'label=dev.paddock.template=base', '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n').find((l) => l && !l.includes('<none>'));
  let image = find();
  if (!image) {
    const ws = makeWorkspace();
    try {
      await paddockOk(['create', 'shell', ws]);
    } finally {
      await cleanup(ws);
    }
    image = find();
  }
  if (!image) throw new Error('no paddock-base image after building the shell template');
  return image;
}

function ok(args: string[]): string {
  const r = docker(args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

export async function startLocalInternet(): Promise<LocalInternet> {
  const id = randomBytes(4).toString('hex');
  const image = await baseImage();
  const network = `paddock-nettest-${id}`;
  const tls = mkdtempSync(join(tmpdir(), 'paddock-nettest-tls-'));
  const names = [`paddock-nettest-${id}-a`, `paddock-nettest-${id}-b`];
  const stop = () => {
    for (const n of names) docker(['rm', '-f', n]);
    docker(['network', 'rm', network]);
    rmSync(tls, { recursive: true, force: true });
  };
  try {
    ok(['network', 'create', '--internal', '--label', 'paddock-test=network', network]);
    ok(['run', '--rm', '--network', 'none', '-v', `${tls}:/tls`, image, 'sh', '-c',
      'openssl req -x509 -newkey rsa:2048 -nodes -keyout /tls/key.pem -out /tls/cert.pem -days 2 -subj /CN=allowed.test -addext subjectAltName=DNS:allowed.test 2>/dev/null && chmod 644 /tls/*.pem']);
    ok(['run', '-d', '--name', names[0], '--network', network, '--network-alias', 'allowed.test', '-e', 'WEB_NAME=a', '-v', `${tls}:/tls:ro`, image, 'node', '-e', SERVER]);
    ok(['run', '-d', '--name', names[1], '--network', network, '--network-alias', 'blocked.test', '--network-alias', 'rebind.test', '--network-alias', 'other.test', '-e', 'WEB_NAME=b', image, 'node', '-e', SERVER]);
    for (const n of names) {
      for (let i = 0; i < 100 && !docker(['logs', n]).stdout.includes('web ready'); i++) await new Promise((r) => setTimeout(r, 100));
    }
    const ip = (n: string) => ok(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, n]);
    return { network, image, a: ip(names[0]), b: ip(names[1]), cert: readFileSync(join(tls, 'cert.pem'), 'utf8'), stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** Dotted IPv4 as one decimal number and as hex ("172.18.0.2" → "2886860802", "0xac120002"). */
export function ipv4Forms(ip: string): { decimal: string; hex: string } {
  const n = ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  return { decimal: String(n), hex: `0x${n.toString(16)}` };
}

/**
 * The local internet, with the Paddock of this process sending new sandboxes' proxies out through it
 * (PADDOCK_EGRESS_NETWORK) and keeping their proxy folders in a temporary one (PADDOCK_NETWORK_DIR,
 * `stateDir`). `stop()` undoes all of it.
 */
export async function useLocalInternet(prefix: string): Promise<LocalInternet & { readonly stateDir: string }> {
  const net = await startLocalInternet();
  const stateDir = mkdtempSync(join(tmpdir(), prefix));
  process.env.PADDOCK_EGRESS_NETWORK = net.network;
  process.env.PADDOCK_NETWORK_DIR = stateDir;
  return {
    ...net, stateDir,
    stop: () => {
      // The shared shape's service for this state folder and way out sits on the local internet's
      // network: it goes first, or the network cannot be removed and address pools run out.
      docker(['rm', '-f', serviceName(stateDir, net.network)]);
      net.stop();
      delete process.env.PADDOCK_EGRESS_NETWORK;
      delete process.env.PADDOCK_NETWORK_DIR;
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A deny-by-default policy with comments (which edits must keep) that allows the local internet's
 * two hosts and denies blocked.test: the live-rules and questions tests start from it.
 */
export const commentedDenyPolicy = (a: string, b: string): string => [
  '# Team policy: keep this comment.',
  'version: 1',
  'network:',
  '  policy: deny',
  `  # The local internet's addresses: names never reach private addresses without an address rule.`,
  `  allow: ["${a}", "${b}"]`,
  '  deny: [blocked.test]   # never',
  '  hostRegistries: false',
  '',
].join('\n');
