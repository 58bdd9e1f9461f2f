// A real engine restart, on a private dockerd the test starts (the shared engine is never
// restarted: other tests run on it). The daemon runs in a network namespace of its own (ip netns),
// so its docker0, bridges, routes and iptables rules never touch the host's: dockerd deletes
// "docker0" by that name when it starts again with address pools configured, whatever --bridge
// says, which took the shared engine's default bridge away in an earlier version of this test.
// Its socket, data, exec root and pid file are under a temp folder; Paddock's images are copied
// in from the shared engine (no build). Checked: what an attached exec, ls, exec and start say
// while the engine is down and after it is back; the sandboxes stay stopped and say why; start
// brings them back with nothing lost; after the restart another sandbox's proxy has the address a
// saved rule allows, and the proxies still never reach each other. Then a reboot, as near as one
// machine allows: `paddock run` (hosting the bridge) and the whole engine, containers included,
// get SIGKILL at once and the engine's /run state is emptied; ls and exec say the sandbox stopped,
// and `paddock run` brings it back with its state, its .env still hidden, egress through the engine's
// egress service and the agent's bridge answering (a stale socket of the killed run left behind).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TemplateBuilder } from '../../../src/engine/templates.js';
import { CLI, docker, engine, makeWorkspace, paddock, paddockOk, type CliResult } from '../../support/sandbox.js';
import { INIT_REQUEST } from '../bridge/support.js';

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

/** A dockerd of the test's own, in its own network namespace; start() and stop() are the restart. */
class PrivateEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'pdk-dockerd-'));
  readonly socket = join(this.dir, 'docker.sock');
  readonly host = `unix://${this.socket}`;
  readonly netns = `pdk-${randomBytes(4).toString('hex')}`;
  private daemon?: ChildProcess;
  private netnsMade = false;

  /** The namespace (with its loopback up) and the daemon's own config file, so /etc/docker is not read. */
  prepare(): void {
    const made = sh('ip', ['netns', 'add', this.netns]);
    if (made.status !== 0) throw new Error(`ip netns add: ${made.stderr}`);
    this.netnsMade = true;
    const lo = sh('ip', ['netns', 'exec', this.netns, 'ip', 'link', 'set', 'lo', 'up']);
    if (lo.status !== 0) throw new Error(`loopback in ${this.netns}: ${lo.stderr}`);
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
  }

  async start(): Promise<void> {
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    // In the namespace, and in a mount namespace of its own whose /sys shows that namespace's
    // interfaces (dockerd reads bridges there) with the host's cgroups bound back in; its mounts
    // never reach the host's table. Each step execs the next: the pid is dockerd's.
    const cgroups = join(this.dir, 'cgroup');
    const setUp = `set -e; mkdir -p ${cgroups}; mount --rbind /sys/fs/cgroup ${cgroups}; umount -l /sys; mount -t sysfs sysfs /sys; `
      + `mount --rbind ${cgroups} /sys/fs/cgroup; umount -l ${cgroups}; exec dockerd "$@"`;
    this.daemon = spawn('nsenter', [
      `--net=/run/netns/${this.netns}`, 'unshare', '--mount', '--propagation', 'slave', 'sh', '-c', setUp, 'dockerd',
      '--config-file', join(this.dir, 'daemon.json'), '--host', this.host, '--data-root', join(this.dir, 'data'),
      '--exec-root', join(this.dir, 'exec'), '--pidfile', join(this.dir, 'dockerd.pid'),
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    for (const deadline = Date.now() + 60_000; !this.answers();) {
      if (Date.now() > deadline || this.daemon.exitCode !== null) throw new Error(`the private dockerd did not start:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** What `systemctl restart docker` does first: SIGTERM, then the daemon stops its containers and exits. */
  async stop(): Promise<void> {
    const daemon = this.daemon;
    if (!daemon || daemon.exitCode !== null || daemon.signalCode !== null) return;
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    const late = setTimeout(() => daemon.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(late);
  }

  /**
   * A power cut, as near as one machine allows: the daemon, its containerd and shims and every
   * container's processes get SIGKILL at once, so nothing stops cleanly and the engine finds its
   * containers dead when it starts again (as after a reboot).
   */
  async crash(): Promise<void> {
    const running = this.docker(['ps', '-q']).stdout.split('\n').filter(Boolean);
    const inits = running.length ? this.docker(['inspect', '-f', '{{.State.Pid}}', ...running]).stdout.split('\n').map(Number).filter((pid) => pid > 0) : [];
    const daemon = this.daemon;
    const exited = daemon && daemon.exitCode === null && daemon.signalCode === null ? new Promise((r) => daemon.once('exit', r)) : undefined;
    daemon?.kill('SIGKILL');
    await exited;
    for (const pid of [...this.processes(), ...inits]) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    for (const deadline = Date.now() + 30_000; this.processes().length;) {
      if (Date.now() > deadline) throw new Error(`processes of the engine outlived SIGKILL: ${this.processes().join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    // A reboot empties /run, where the engine keeps its pid files, sockets and containerd's runtime
    // state; a pid file left behind names a pid another process may hold by now.
    for (const m of readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(join(this.dir, 'exec'))).reverse()) sh('umount', ['-l', m]);
    for (const path of ['exec', 'dockerd.pid', 'docker.sock']) rmSync(join(this.dir, path), { recursive: true, force: true });
  }

  /** Processes of this engine besides dockerd (containerd, shims), by the folder in their command line. */
  private processes(): number[] {
    const cmdline = (pid: string) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
    return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && Number(pid) !== process.pid && cmdline(pid).includes(this.dir)).map(Number);
  }

  answers(): boolean {
    return sh('docker', ['-H', this.host, 'version']).status === 0;
  }

  docker(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = sh('docker', ['-H', this.host, ...args]);
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  /** Everything the test made: the daemon (and what it left running), the namespace, the folder. */
  async remove(): Promise<void> {
    await this.stop();
    // Processes still holding the folder (a shim of a container the daemon could not stop), by pid.
    for (const pid of this.processes()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    // The daemon's mounts lived in its own mount namespace; any that reached this one go too.
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(this.dir)).reverse();
    for (const m of mounts) sh('umount', ['-l', m]);
    if (this.netnsMade) sh('ip', ['netns', 'del', this.netns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Paddock's images for the shell template, as the shared engine has them (built there if missing), and their Debian base. */
async function templateImages(): Promise<string[]> {
  const shell = await new TemplateBuilder(engine().docker).ensureAgentImage('shell');
  const layers = new Set(docker(['history', '-q', shell]).stdout.split('\n').filter((l) => /^[0-9a-f]{12}$/.test(l)));
  const base = docker(['images', '--filter', 'label=dev.paddock.template=base', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}']).stdout
    .split('\n').map((l) => l.split(' ')).find(([id]) => layers.has(id))?.[1];
  assert.ok(base, `the base image of ${shell} is on the shared engine`);
  return ['debian:bookworm-slim', base, shell];
}

const NO_ENGINE = /No Docker engine answers at unix:\/\/\S+docker\.sock .*\n\s*→ .*start/;
const STOPPED_OUTSIDE = /stopped outside Paddock .*engine or machine restart.*"paddock start/s;

describe('a real engine restart (a private dockerd)', () => {
  const pe = new PrivateEngine();
  // The own egress shape: each sandbox's proxy has an address on the engine's bridge, which a restart
  // hands out again (what the proxies-apart check is about; a shared-shape sandbox has no address at all).
  const env = { DOCKER_HOST: pe.host, PADDOCK_EGRESS_SHAPE: 'own' };
  const cli = (args: string[]): Promise<CliResult> => paddock(args, { env });
  const cliOk = (args: string[]) => paddockOk(args, { env });
  let a: string;
  let b: string;
  let wsA: string;
  let wsB: string;
  let c: string | undefined;
  let wsC: string | undefined;
  const proxyOf = (sandbox: string) => pe.docker(['ps', '-a', '--filter', `label=dev.paddock.egress-for=${sandbox}`, '--format', '{{.Names}}']).stdout.trim();
  const addressOf = (container: string) => JSON.parse(pe.docker(['inspect', container]).stdout)[0].NetworkSettings.Networks.bridge?.IPAddress as string;
  const timings: Record<string, number> = {};
  /** What the user read, printed with the timings for the report. */
  const said: Record<string, string> = {};
  const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try { return await fn(); } finally { timings[label] = Date.now() - t0; }
  };

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'a dockerd of its own (and its network namespace) needs root, as CI runs');
    pe.prepare();
    await timed('private dockerd start', () => pe.start());
    const images = await templateImages();
    await timed('copy Paddock images in', async () => {
      const load = spawnSync('sh', ['-c', `docker save ${images.join(' ')} | docker -H ${pe.host} load`], { encoding: 'utf8' });
      if (load.status !== 0) throw new Error(`loading the images failed: ${load.stderr}`);
    });
    wsA = makeWorkspace({ 'keep.txt': 'the user\'s work\n' }, 'pdk-restart-a-');
    wsB = makeWorkspace({ 'b.txt': 'b\n' }, 'pdk-restart-b-');
    a = (await timed('create A', () => cliOk(['create', 'shell', wsA]))).stdout.trim();
    b = (await cliOk(['create', 'shell', wsB])).stdout.trim();
  });
  after(async () => {
    if (!pe.answers()) await pe.start().catch(() => {});
    // paddock rm also removes the sandboxes' state folders on this machine.
    for (const name of [a, b, c]) if (name) await cli(['rm', name]).catch(() => {});
    await pe.remove();
    for (const ws of [wsA, wsB, wsC]) if (ws) rmSync(ws, { recursive: true, force: true });
    process.stdout.write(`# timings (ms): ${JSON.stringify(timings)}\n`);
    for (const [what, text] of Object.entries(said)) process.stdout.write(`# ${what}: ${text.trim().replace(/\n/g, ' | ')}\n`);
  });

  it('says what happened during the outage and after it; start brings the sandboxes back with nothing lost; proxies stay apart at their new addresses', async () => {
    // State a user would lose to a recreate: a file installed in the sandbox, and a rule by IP.
    await cliOk(['exec', a, '--', 'sh', '-c', 'echo installed > /home/agent/installed.txt']);
    const oldProxyA = addressOf(proxyOf(a));
    assert.match(oldProxyA, /^\d+\.\d+\.\d+\.\d+$/, 'A\'s proxy is on the private engine\'s default bridge');
    // Saved (approved in the policy): a rule for one run would end with the restart's stop.
    await cliOk(['network', 'allow', a, oldProxyA, '--save']);

    // A command attached to the sandbox when the engine goes.
    const attached = spawn(process.execPath, [CLI, 'exec', a, '--', 'sh', '-c', 'echo started; sleep 120'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let attachedOut = '';
    let attachedErr = '';
    attached.stdout!.on('data', (c) => (attachedOut += c));
    attached.stderr!.on('data', (c) => (attachedErr += c));
    const attachedEnd = new Promise<number>((r) => attached.once('close', (code) => r(code ?? -1)));
    for (const deadline = Date.now() + 60_000; !attachedOut.includes('started');) {
      assert.ok(Date.now() < deadline && attached.exitCode === null, `the attached exec did not start: ${attachedErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    await timed('dockerd stop', () => pe.stop());
    assert.equal(await attachedEnd, 1, attachedErr);
    said['exec attached when the engine stopped'] = attachedErr;
    assert.match(attachedErr, /The Docker engine at unix:\/\/\S+docker\.sock stopped answering \(.*\)\.\n\s*→ Start the engine .*then run "paddock ls"/);
    assert.ok(!/^paddock: (read|connect) E/m.test(attachedErr), attachedErr);
    for (const args of [['ls'], ['exec', a, '--', 'true'], ['start', a]]) {
      const r = await cli(args);
      said[`${args[0]} during the outage`] = r.stderr;
      assert.equal(r.code, 1, `paddock ${args[0]} during the outage: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, NO_ENGINE, `paddock ${args[0]} during the outage`);
      assert.ok(!/^paddock: (read|connect) E/m.test(r.stderr), r.stderr);
    }

    await timed('dockerd start again', () => pe.start());
    const ls = await cliOk(['ls']);
    for (const name of [a, b]) assert.match(ls.stdout, new RegExp(`^${name}\\s.*stopped \\(engine restart or docker stop\\)`, 'm'), ls.stdout);
    const exec = await cli(['exec', a, '--', 'cat', '/home/agent/installed.txt']);
    said['ls after the restart'] = ls.stdout;
    said['exec after the restart'] = exec.stderr;
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, STOPPED_OUTSIDE);

    // B first: its proxy takes the first free address on the bridge, the one A's rule names.
    await timed('start B after the restart', () => cliOk(['start', b]));
    said['start after the restart'] = (await cliOk(['start', a])).stderr;
    const again = await cliOk(['ls']);
    for (const name of [a, b]) assert.match(again.stdout, new RegExp(`^${name}\\s.*running`, 'm'), again.stdout);
    assert.equal((await cliOk(['exec', a, '--', 'cat', '/home/agent/installed.txt'])).stdout.trim(), 'installed', 'the sandbox\'s own state is kept');
    assert.equal(readFileSync(join(wsA, 'keep.txt'), 'utf8'), 'the user\'s work\n');
    assert.equal((await cliOk(['exec', a, '--', 'cat', join(wsA, 'keep.txt')])).stdout, 'the user\'s work\n');

    const proxyB = addressOf(proxyOf(b));
    assert.equal(proxyB, oldProxyA, 'after the restart B\'s proxy has the address A\'s rule allows');
    assert.match((await cliOk(['network', 'rules', a])).stdout, new RegExp(proxyB.replace(/\./g, '\\.')), 'the rule is in force after the restart');
    const status = await cliOk(['exec', a, '--', 'sh', '-c', `curl -s -m 5 -o /dev/null -w "%{http_code}" http://${proxyB}:3128/`]);
    assert.equal(status.stdout, '403', 'A\'s proxy refused to reach B\'s');
    const log = await cliOk(['network', 'log', a, '--decision', 'deny']);
    assert.match(log.stdout, new RegExp(`${proxyB.replace(/\./g, '\\.')}.*own network`));
  });

  it('a reboot: the engine and the host\'s Paddock processes die at once; ls and exec say so, run brings the sandbox back with its state, hiding, egress and bridge', async () => {
    // A "site" on an internal network of the private engine, named through its resolver: the egress service's way out.
    const net = `pdk-reboot-${randomBytes(3).toString('hex')}`;
    const base = (await templateImages())[1];
    // A fixed address, as a site's is: the rule names it (names never lead to private addresses otherwise).
    assert.equal(pe.docker(['network', 'create', '--internal', '--subnet', '10.251.7.0/24', net]).code, 0);
    const web = pe.docker(['run', '-d', '--name', `${net}-web`, '--network', net, '--ip', '10.251.7.10', '--network-alias', 'allowed.test', base, 'node', '-e',
      'require("http").createServer((q, s) => s.end("hello from the site\\n")).listen(80)']);
    assert.equal(web.code, 0, web.stderr);
    const site = pe.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, `${net}-web`]).stdout.trim();
    // The default egress shape (the engine's one egress service), unlike the sandboxes above.
    const envC = { DOCKER_HOST: pe.host, PADDOCK_EGRESS_NETWORK: net };
    const secret = `reboot-secret-${randomBytes(6).toString('hex')}`;
    wsC = makeWorkspace({
      '.env': `TOKEN=${secret}\n`,
      '.paddock/policy.yaml': ['network:', '  policy: deny', `  allow: [allowed.test, "${site}"]`, ''].join('\n'),
    }, 'pdk-reboot-');
    c = (await paddockOk(['create', 'shell', wsC], { env: envC })).stdout.trim();
    await paddockOk(['exec', c, '--', 'sh', '-c', 'echo installed > /home/agent/installed.txt'], { env: envC });
    const checks = 'cat /home/agent/installed.txt; echo "env:[$(cat .env)]"; curl -sS -m 20 http://allowed.test/; '
      + `(echo '${INIT_REQUEST}'; sleep 8) | timeout 20 /run/paddock/paddock-mcp; echo; exit\n`;

    // paddock run serving the agent (and hosting its bridge) when the power goes.
    const run = spawn(process.execPath, [CLI, 'run', 'shell', wsC], { env: { ...process.env, ...envC }, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let runOut = '';
    run.stdout!.on('data', (chunk) => (runOut += chunk));
    run.stderr!.on('data', (chunk) => (runOut += chunk));
    run.stdin!.write('echo agent-ready\n');
    for (const deadline = Date.now() + 120_000; !runOut.includes('agent-ready');) {
      assert.ok(Date.now() < deadline && run.exitCode === null, `paddock run did not start the agent: ${runOut}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const runGone = new Promise((r) => run.once('close', r));
    process.kill(-run.pid!, 'SIGKILL');
    await timed('power cut', () => pe.crash());
    await runGone;

    await timed('engine start after the power cut', () => pe.start());
    // The site is up again (it stands for the internet, which a reboot of this machine does not stop).
    assert.equal(pe.docker(['start', `${net}-web`]).code, 0);
    const ls = await paddockOk(['ls'], { env: envC });
    said['ls after a reboot'] = ls.stdout;
    assert.match(ls.stdout, new RegExp(`^${c}\\s.*stopped \\(engine restart or docker stop\\)`, 'm'), ls.stdout);
    const exec = await paddock(['exec', c, '--', 'true'], { env: envC });
    said['exec after a reboot'] = exec.stderr;
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, STOPPED_OUTSIDE);

    // paddock run again, as the user would: it starts the sandbox (the egress service first) and hosts the bridge again.
    const again = await timed('run after a reboot', () => paddock(['run', 'shell', wsC!], { env: envC, input: checks, timeoutMs: 180_000 }));
    said['run after a reboot'] = again.stderr;
    assert.equal(again.code, 0, `${again.stdout}${again.stderr}`);
    assert.match(again.stdout, /^installed$/m, 'the sandbox\'s own state is kept');
    assert.match(again.stdout, /^env:\[\]$/m, 'the hidden .env still reads empty');
    assert.ok(!`${again.stdout}${again.stderr}`.includes(secret), 'the secret never shows');
    assert.match(again.stdout, /^hello from the site$/m, 'egress works through the egress service');
    assert.match(again.stdout, /"serverInfo":\{"name":"paddock-bridge"/, 'the agent\'s bridge answers');
    assert.match((await paddockOk(['ls'], { env: envC })).stdout, new RegExp(`^${c}\\s.*running`, 'm'));
    const verify = await paddock(['verify', c], { env: envC });
    assert.equal(verify.code, 0, `paddock verify after a reboot: ${verify.stdout}${verify.stderr}`);
  });
});
