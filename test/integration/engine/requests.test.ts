// What `paddock ls` and `paddock stop` ask the engine (issue 14), seen through a relay socket in
// front of the real engine: ls reads running sandboxes from one listing and one events request,
// however many there are (none of them is inspected or asked about on its own), and still says
// each one's status; stop asks what docker stop asks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveLimits } from '../../../src/core/options.js';
import { TemplateBuilder } from '../../../src/engine/templates.js';
import { RequestRelay } from '../../support/engine-requests.js';
import { cleanup, engine, makeWorkspace, paddockOk } from '../../support/sandbox.js';

const ENGINE_SOCKET = '/var/run/docker.sock';

describe('engine requests of ls and stop', () => {
  const sandboxes: { name: string; id: string; workspace: string }[] = [];
  let relay: RequestRelay;

  /** The requests a paddock command makes, run through the relay. */
  async function requestsOf(args: string[]): Promise<{ requests: string[]; stdout: string }> {
    relay.requests.length = 0;
    const { stdout } = await paddockOk(args, { env: { ...process.env, DOCKER_HOST: relay.host, DOCKER_CONTEXT: '' } });
    return { requests: [...relay.requests], stdout };
  }

  before(async () => {
    relay = new RequestRelay(ENGINE_SOCKET);
    await relay.up();
    const image = await new TemplateBuilder(engine().docker).ensureAgentImage('shell');
    for (let i = 0; i < 3; i++) {
      const workspace = makeWorkspace();
      const created = await engine().create({ workspace, agent: 'shell', image, limits: resolveLimits({ memory: '256m' }), name: `paddock-requests-${process.pid}-${i}` });
      sandboxes.push({ name: created.name, id: created.id, workspace });
      await engine().start(created.id);
    }
  });

  after(async () => {
    for (const s of sandboxes) await cleanup(s.workspace);
    await relay?.down();
  });

  it('ls lists running sandboxes from one listing: none is inspected or asked about on its own, and each says running', async () => {
    const { requests, stdout } = await requestsOf(['ls']);
    for (const s of sandboxes) {
      assert.match(stdout, new RegExp(`^${s.name} +shell +running `, 'm'), `${s.name} is listed as running`);
      const own = requests.filter((r) => r.includes(s.id) || r.includes(s.name) || r.includes(encodeURIComponent(s.id)));
      assert.deepEqual(own, [], `no request about ${s.name} alone`);
    }
    assert.equal(requests.filter((r) => /^GET (\/v[\d.]+)?\/containers\/json\?/.test(r)).length, 1, `one listing: ${requests.join(', ')}`);
    assert.equal(requests.filter((r) => /^GET (\/v[\d.]+)?\/events\?/.test(r)).length, 1, `one events request for all running sandboxes: ${requests.join(', ')}`);
  });

  it('stop makes the requests docker stop makes (one inspect, the stop), and ls then says stopped', async () => {
    const [first] = sandboxes;
    const { requests, stdout } = await requestsOf(['stop', first.name]);
    assert.equal(stdout.trim(), first.name);
    assert.deepEqual(requests.map((r) => r.replace(/^(\S+) \/v[\d.]+/, '$1 ').replace(/\?.*$/, '')), [`GET /containers/${first.name}/json`, `POST /containers/${first.id}/stop`]);
    const { stdout: listed } = await requestsOf(['ls']);
    assert.match(listed, new RegExp(`^${first.name} +shell +stopped `, 'm'), 'a stop by the user is no stop cause to show');
  });
});

describe('engine requests of a warm run', () => {
  let relay: RequestRelay;
  let ws: string;
  let name: string;
  before(async () => {
    relay = new RequestRelay(ENGINE_SOCKET);
    await relay.up();
    ws = makeWorkspace({ '.env': 'TOKEN=warm-requests\n', 'README.md': '# warm\n' }, 'paddock-warmrequests-');
    name = (await paddockOk(['create', 'shell', ws])).stdout.trim();
  });
  after(async () => {
    if (ws) await cleanup(ws);
    await relay?.down();
  });

  it('its early check finds the sandbox by its default name (one inspect), so the run lists the workspace\'s sandboxes once', async () => {
    relay.requests.length = 0;
    // (The relay ends the exec's stream when the CLI half-closes its input, before any output: the
    // run waits for the agent's own end, and the agent leaves a file.)
    await paddockOk(['run', 'shell', ws, '--', '-c', 'echo AGENT-RAN > ran.txt'], { env: { ...process.env, DOCKER_HOST: relay.host, DOCKER_CONTEXT: '' } });
    assert.match(readFileSync(join(ws, 'ran.txt'), 'utf8'), /AGENT-RAN/);
    const asked = relay.requests.map((q) => q.replace(/^(\S+) \/v[\d.]+/, '$1 ').replace(/\?.*$/, ''));
    assert.equal(asked.filter((q) => q === 'GET /containers/json').length, 1, asked.join(', '));
    // The check's helper was made once, after that inspect by name: the early one, not a second.
    const byName = asked.indexOf(`GET /containers/${name}/json`);
    assert.ok(byName >= 0 && byName < asked.indexOf('POST /containers/create'), asked.join(', '));
    assert.equal(asked.filter((q) => q === 'POST /containers/create').length, 1, asked.join(', '));
  });

  it('a sandbox made with --name is found by the listing, and its check still starts early (one helper)', async () => {
    const named = makeWorkspace({ '.env': 'TOKEN=warm-requests\n' }, 'paddock-warmnamed-');
    try {
      await paddockOk(['create', 'shell', named, '--name', `paddock-warmnamed-${process.pid}`]);
      relay.requests.length = 0;
      await paddockOk(['run', 'shell', named, '--', '-c', 'echo AGENT-RAN > ran.txt'], { env: { ...process.env, DOCKER_HOST: relay.host, DOCKER_CONTEXT: '' } });
      assert.match(readFileSync(join(named, 'ran.txt'), 'utf8'), /AGENT-RAN/);
      const asked = relay.requests.map((q) => q.replace(/^(\S+) \/v[\d.]+/, '$1 ').replace(/\?.*$/, ''));
      assert.equal(asked.filter((q) => q === 'GET /containers/json').length, 2, asked.join(', '));
      assert.ok(asked.indexOf('GET /containers/json') < asked.indexOf('POST /containers/create'), asked.join(', '));
      assert.equal(asked.filter((q) => q === 'POST /containers/create').length, 1, asked.join(', '));
    } finally {
      await cleanup(named);
    }
  });
});
