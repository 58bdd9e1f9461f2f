// What `paddock ls` and `paddock stop` ask the engine (issue 14), seen through a relay socket in
// front of the real engine: ls reads running sandboxes from one listing and one events request,
// however many there are (none of them is inspected or asked about on its own), and still says
// each one's status; stop asks what docker stop asks.
import assert from 'node:assert/strict';
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
