// The policy editor's page. It renders what the host sends (the document's model and the preview
// of hidden files) and asks the host for edits; it never changes the policy itself, so the text
// document stays the one model (undo, redo, save). lit's templates escape every value, so file
// names from the workspace cannot inject markup.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { html, nothing, render, type TemplateResult } from 'lit';
import { live } from 'lit/directives/live.js';
import { repeat } from 'lit/directives/repeat.js';
import type { PolicyEditorModel } from '../../../src/core/policyEditorModel.js';
import type { HideRuleAction } from '../../../src/core/policyHideRules.js';
import type { PolicyEdit, PolicyListPath, PermissionKey } from '../../../src/core/policyYamlEdit.js';
import type { HidePreview, HostMessage, WebviewMessage } from '../../../src/vscode/policyEditor/protocol.js';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app')!;

let model: PolicyEditorModel | undefined;
let version = -1;
let workspace = '';
let defaultHide: readonly string[] = [];
let preview: HidePreview | undefined;
let status: { text: string; error: boolean } = { text: '', error: false };
let nextRequest = 1;

function send(message: WebviewMessage): void {
  vscode.postMessage(message);
}

function edit(e: PolicyEdit): void {
  status = { text: '', error: false };
  send({ type: 'edit', requestId: nextRequest++, edit: e });
}

function hideRule(position: number, pattern: string, action: HideRuleAction): void {
  status = { text: '', error: false };
  send({ type: 'hideRule', requestId: nextRequest++, position, pattern, action });
}

/** What the host said of each field's text as it was typed (field id → value and problem). */
const checks = new Map<string, { value: string; error?: string }>();
const fieldPaths = new Map<number, string>();

function check(id: string, path: PolicyListPath, value: string): void {
  const requestId = nextRequest++;
  fieldPaths.set(requestId, id);
  send({ type: 'check', requestId, path, value });
}

window.addEventListener('message', (event: MessageEvent<HostMessage>) => {
  const message = event.data;
  if (message.type === 'document') {
    model = message.model;
    version = message.version;
    workspace = message.workspace;
    defaultHide = message.defaultHide;
  } else if (message.type === 'preview') {
    preview = message.preview;
  } else if (message.type === 'checkResult') {
    const id = fieldPaths.get(message.requestId);
    fieldPaths.delete(message.requestId);
    const field = id ? root.querySelector<HTMLInputElement>(`[data-testid="${id}-input"]`) : null;
    // An answer for text that is no longer in the field is dropped.
    if (id && field && field.value.trim() === message.value.trim()) checks.set(id, { value: message.value, error: field.value.trim() ? message.error : undefined });
  } else if (message.type === 'editResult') {
    status = message.ok ? { text: '', error: false } : { text: message.error ?? 'The change failed.', error: true };
  }
  update();
});

const valueOf = (e: Event) => (e.target as HTMLInputElement).value;
const checkedOf = (e: Event) => (e.target as HTMLInputElement).checked;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * A text field with an Add button (Enter adds too), checked as it is typed with the rules create
 * applies (the host answers); the field is cleared once the edit is sent.
 */
function adder(id: string, placeholder: string, path: PolicyListPath, onAdd: (value: string) => void): TemplateResult {
  const field = () => root.querySelector<HTMLInputElement>(`[data-testid="${id}-input"]`);
  const submit = () => {
    const value = field()?.value.trim();
    if (!value) return;
    const known = checks.get(id);
    if (known && known.value.trim() === value && known.error) return;
    onAdd(value);
    field()!.value = '';
    checks.delete(id);
    update();
  };
  const problem = checks.get(id)?.error;
  return html`<div class="row-actions">
    <vscode-textfield data-testid="${id}-input" placeholder=${placeholder} aria-label=${placeholder} ?invalid=${!!problem}
      @input=${(e: Event) => { const v = valueOf(e); if (v.trim()) check(id, path, v); else { checks.delete(id); update(); } }}
      @keydown=${(e: KeyboardEvent) => { if (e.key === 'Enter') submit(); }}></vscode-textfield>
    <vscode-button data-testid="${id}-button" secondary ?disabled=${!!problem} @click=${submit}>Add</vscode-button>
  </div>
  ${problem ? html`<div class="status error" role="alert" data-testid="${id}-problem">${problem}</div>` : nothing}`;
}

/** A list of strings as removable chips, with an adder. */
function stringList(id: string, path: PolicyListPath, items: readonly string[], placeholder: string, explicit = true): TemplateResult {
  return html`
    ${explicit ? nothing : html`<p class="muted">Not set in the file: the defaults below apply. A change writes the list into the file.</p>`}
    <div class="chips" data-testid="${id}-list">
      ${items.length ? items.map((item, index) => html`<span class="chip">${item}<button title="Remove ${item}" aria-label="Remove ${item}"
        @click=${() => edit({ op: 'remove', path, index })}>×</button></span>`) : html`<span class="muted">(none)</span>`}
    </div>
    ${adder(id, placeholder, path, (value) => edit({ op: 'add', path, value }))}`;
}

function hideSection(m: PolicyEditorModel): TemplateResult {
  const list = m.lists.hide;
  const upToDate = preview && preview.version === version;
  // Preview rules are numbered among the rules that are on.
  let onIndex = 0;
  const rules = m.hideRules.map((r, position) => {
    const index = r.on ? onIndex++ : undefined;
    const p = index !== undefined && preview?.rules[index]?.pattern === r.pattern ? preview.rules[index] : undefined;
    return { ...r, position, preview: p };
  });
  const missingDefaults = defaultHide.filter((p) => !m.hideRules.some((r) => r.pattern === p));
  const summary = preview?.error
    ? html`<span class="status error">${preview.error}</span>`
    : preview
      ? html`<strong data-testid="hide-summary">${plural(preview.hiddenPaths, 'path')} hidden (${plural(preview.hiddenFiles, 'file')})</strong>
          <span class="muted">of ${plural(preview.scannedFiles, 'file')} in ${workspace}${upToDate ? '' : ' · updating…'}</span>`
      : html`<span class="muted">Counting matching files…</span>`;
  return html`<section aria-labelledby="hide-title">
    <h2 id="hide-title">Hidden paths</h2>
    <p class="applies" data-testid="applies-hide">Applies when a sandbox is created or recreated.</p>
    <p class="muted">The sandbox never sees these: files are covered with /dev/null, folders with an empty read-only folder. Globs are relative to the workspace.
      <strong>Order matters: rules are read top to bottom and the last one that matches a path decides</strong>; "!" re-includes what a rule above hid.
      A rule switched off stays in its place in the file (commented out), so switching it on again means what it meant before.</p>
    ${list.explicit ? nothing : html`<p class="muted">The file has no hide list, so the defaults apply. A change writes the list into the file.</p>`}
    <p>${summary}</p>
    <table class="rules" data-testid="hide-table">
      <thead><tr><th></th><th>Rule</th><th class="count">Matches</th><th>Files (sample)</th><th></th></tr></thead>
      <tbody>
        ${repeat(rules, (r) => `${r.position}:${r.pattern}:${r.on}`, (r) => html`<tr class=${r.on ? 'on' : 'off'} data-pattern=${r.pattern}>
          <td class="toggle"><vscode-checkbox .checked=${live(r.on)} aria-label="Hide ${r.pattern}" title=${r.on ? `Untick to stop hiding ${r.pattern} (it stays here, switched off)` : `Tick to hide ${r.pattern} again`}
            @change=${(e: Event) => hideRule(r.position, r.pattern, checkedOf(e) ? 'on' : 'off')}></vscode-checkbox></td>
          <td class="pattern">${r.pattern}</td>
          <td class="count ${r.on ? '' : 'muted'}" data-testid="count">${r.on ? (r.preview && upToDate ? r.preview.count : '…') : 'off'}</td>
          <td class="samples" title=${r.preview?.samples.join('\n') ?? ''}>${r.on ? `${r.preview?.samples.slice(0, 4).join(', ') ?? ''}${r.preview && r.preview.count > 4 ? ', …' : ''}` : 'switched off'}</td>
          <td class="moves">
            <button title="Move ${r.pattern} up" aria-label="Move ${r.pattern} up" ?disabled=${r.position === 0} @click=${() => hideRule(r.position, r.pattern, 'up')}>↑</button>
            <button title="Move ${r.pattern} down" aria-label="Move ${r.pattern} down" ?disabled=${r.position === rules.length - 1} @click=${() => hideRule(r.position, r.pattern, 'down')}>↓</button>
            <button title="Delete ${r.pattern}" aria-label="Delete ${r.pattern}" @click=${() => hideRule(r.position, r.pattern, 'delete')}>×</button>
          </td>
        </tr>`)}
      </tbody>
    </table>
    ${missingDefaults.length ? html`<details class="defaults" data-testid="missing-defaults">
      <summary>${plural(missingDefaults.length, 'default rule')} not in this list</summary>
      <div class="chips">${missingDefaults.map((pattern) => html`<vscode-button secondary title="Add ${pattern} to the end of the hide list"
        @click=${() => edit({ op: 'add', path: ['hide'], value: pattern })}>+ ${pattern}</vscode-button>`)}</div>
    </details>` : nothing}
    ${adder('hide-add', 'Add a path or glob to hide, e.g. config/*.secret (added at the end)', ['hide'], (value) => edit({ op: 'add', path: ['hide'], value }))}
  </section>`;
}

const PERMISSION_LABELS: Record<PermissionKey, string> = {
  logs: 'Read logs', inspect: 'Inspect containers', stats: 'Read stats', exec: 'Run whitelisted commands', files: 'Read files', lifecycle: 'Start / stop / restart',
};

function bridgeSection(m: PolicyEditorModel): TemplateResult {
  return html`<section aria-labelledby="bridge-title">
    <h2 id="bridge-title">Bridge to the project's containers</h2>
    <p class="applies" data-testid="applies-bridge">Applies when you save: the running sandboxes' bridges follow at once.</p>
    <div class="grid">
      <label for="tier">Tier</label>
      <vscode-single-select id="tier" data-testid="tier" .value=${live(m.tier.value)} @change=${(e: Event) => edit({ op: 'set', path: ['tier'], value: valueOf(e) })}>
        <vscode-option value="strict" description="No commands at all">strict</vscode-option>
        <vscode-option value="moderate" description="Only whitelisted commands">moderate</vscode-option>
        <vscode-option value="permissive" description="Anything but the deny list: not sound, a command can run any code in the container; only blocked paths (absent) and masking hold">permissive</vscode-option>
      </vscode-single-select>
      <span>Tools</span>
      <div class="chips">
        ${(Object.keys(PERMISSION_LABELS) as PermissionKey[]).map((key) => html`<vscode-checkbox .checked=${live(m.permissions[key])} label=${PERMISSION_LABELS[key]}
          @change=${(e: Event) => edit({ op: 'set', path: ['bridge', 'permissions', key], value: checkedOf(e) })}></vscode-checkbox>`)}
      </div>
    </div>
    <h3>Containers the bridge may reach</h3>
    ${stringList('containers', ['bridge', 'containers'], m.lists['bridge.containers'].items, 'Container name glob or compose project, e.g. myapp-*')}
    <h3>Command whitelists</h3>
    <p class="muted">Per container name glob: allowed commands. "npm test" allows exactly that; a trailing * allows more arguments ("echo *").</p>
    ${m.exec.map(({ container, commands }) => html`<div class="exec" data-container=${container}>
      <div class="exec-head"><code>${container}</code>
        <vscode-button secondary @click=${() => edit({ op: 'removeExec', key: container })}>Remove</vscode-button></div>
      ${stringList(`exec-${container}`, ['bridge', 'exec', container], commands, `Command allowed in ${container}, e.g. npm test`)}
    </div>`)}
    ${adder('exec-add', 'Add a container glob with its own whitelist', ['bridge', 'containers'], (key) => edit({ op: 'addExec', key }))}
    <h3>Commands never allowed (permissive tier)</h3>
    ${stringList('deny', ['bridge', 'deny'], m.lists['bridge.deny'].items, 'Command name', m.lists['bridge.deny'].explicit)}
    <h3>Paths no bridge tool may read</h3>
    ${stringList('blocked', ['bridge', 'blockedPaths'], m.lists['bridge.blockedPaths'].items, 'Path or glob inside containers', m.lists['bridge.blockedPaths'].explicit)}
  </section>`;
}

function networkSection(m: PolicyEditorModel): TemplateResult {
  const allow = m.networkAllow;
  return html`<section aria-labelledby="network-title">
    <h2 id="network-title">Network</h2>
    <p class="applies" data-testid="applies-network">Applies when you save: the running sandboxes' egress proxies follow within a second.</p>
    <div class="grid">
      <label for="network-policy">Hosts no rule names</label>
      <vscode-single-select id="network-policy" data-testid="network-policy" .value=${live(m.networkPolicy.value)} @change=${(e: Event) => edit({ op: 'set', path: ['network', 'policy'], value: valueOf(e) })}>
        <vscode-option value="deny">deny</vscode-option>
        <vscode-option value="allow">allow</vscode-option>
      </vscode-single-select>
    </div>
    <h3>Allowed</h3>
    <vscode-checkbox data-testid="network-defaults" .checked=${live(allow.defaults)} label="Paddock's built-in hosts (the agents' APIs and sign-in, GitHub), kept up to date by Paddock"
      @change=${(e: Event) => edit({ op: 'set', path: ['network', 'defaults'], value: checkedOf(e) })}></vscode-checkbox>
    ${!allow.defaults && !allow.defaultsExplicit && allow.own.length ? html`<p class="muted" data-testid="network-own-complete">This file lists every allowed host itself (it was written before built-in hosts could be kept as defaults).</p>` : nothing}
    ${allow.defaults ? html`<div class="chips muted" data-testid="default-hosts">${allow.builtIn.map((h) => html`<span class="chip default" title="Built-in: untick above to stop allowing the built-in hosts">${h}</span>`)}</div>` : nothing}
    <h3>${allow.defaults ? 'Your hosts (added to the built-in ones)' : 'Your hosts'}</h3>
    ${stringList('allow', ['network', 'allow'], allow.own, 'Host, *.domain, host:port or CIDR')}
    <h3>Always refused</h3>
    ${stringList('net-deny', ['network', 'deny'], m.lists['network.deny'].items, 'Host, *.domain, host:port or CIDR', m.lists['network.deny'].explicit)}
  </section>`;
}

function readOnlySection(m: PolicyEditorModel): TemplateResult {
  return html`<section aria-labelledby="ro-title">
    <h2 id="ro-title">Read-only in the sandbox</h2>
    <p class="applies" data-testid="applies-readonly">Applies when a sandbox is created or recreated.</p>
    <p class="muted">The agent can read these but not change them: its own cage.</p>
    ${stringList('readonly', ['readOnly'], m.lists.readOnly.items, 'Path or glob', m.lists.readOnly.explicit)}
  </section>`;
}

function page(): TemplateResult {
  const openText = html`<vscode-button data-testid="open-text" secondary @click=${() => send({ type: 'openText' })}>Open in Text Editor</vscode-button>`;
  if (!model) return html`<p class="muted">Loading the policy…</p>`;
  const header = html`<div class="header"><div><h1>Paddock policy</h1><span class="muted">.paddock/policy.yaml · when you save, network and bridge changes apply to running sandboxes at once; hidden and read-only paths when a sandbox is created or recreated</span></div>${openText}</div>`;
  if (model.syntaxErrors.length) {
    return html`${header}<div class="banner error" role="alert" data-testid="syntax-error">
      <strong>The policy file is not valid YAML, so it cannot be shown here.</strong>
      <ul>${model.syntaxErrors.map((e) => html`<li>line ${e.line}, column ${e.col}: ${e.message}</li>`)}</ul>
      Fix it in the text editor; this view follows as soon as the file reads again.
      <div class="row-actions"><vscode-button data-testid="open-text-error" @click=${() => send({ type: 'openText' })}>Open Text Editor</vscode-button></div>
    </div>`;
  }
  return html`${header}
    ${model.issues.length ? html`<div class="banner warning" role="alert" data-testid="schema-issues">
      <strong>Sandboxes cannot be created until these are fixed:</strong>
      <ul>${model.issues.map((e) => html`<li>line ${e.line}, column ${e.col}: ${e.message}</li>`)}</ul></div>` : nothing}
    <div class="status ${status.error ? 'error' : ''}" role="status" data-testid="status">${status.text}</div>
    ${hideSection(model)}
    ${bridgeSection(model)}
    ${networkSection(model)}
    ${readOnlySection(model)}`;
}

function update(): void {
  render(page(), root);
}

// lit renders after what the container holds: drop the "Loading" placeholder of the HTML.
root.replaceChildren();

update();
send({ type: 'ready' });
