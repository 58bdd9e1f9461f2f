// What a Docker user expects on a sandbox row besides run/stop: follow its log in a terminal,
// Inspect (the container's JSON in a read-only editor), Restart, Copy name / ID, Open in Browser
// on a published port, and pruning the template images no sandbox uses. Engine calls go through
// src/engine/containerTools.ts.
import * as vscode from 'vscode';
import { describeError } from '../core/errors.js';
import { findUnusedTemplateImages, followLogs, inspectSandbox, removeTemplateImages, restartSandbox, type UnusedImage } from '../engine/containerTools.js';
import { startNotes } from '../engine/startNotes.js';
import type { PublishedPort } from '../engine/types.js';
import { DisposableOwner } from './lifecycle.js';
import type { Services } from './commands.js';
import type { TreeNode } from './treeModel.js';
import { formatBytes } from './usageText.js';
import { showInformationMessage, showWarningMessage, withProgress } from './notify.js';

/** How commands get the sandbox they act on: the tree node given, or the user's pick (commands.ts). */
export type SandboxPicker = (arg: unknown, want: (s: PickedSandbox) => boolean, verb: string) => Promise<PickedSandbox>;
export interface PickedSandbox {
  readonly id: string;
  readonly name: string;
  readonly workspace: string;
  readonly agent: string;
  readonly status: string;
}

const INSPECT_SCHEME = 'paddock-inspect';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** A published port as the browser reaches it: loopback for the addresses that mean "this machine". */
export function portUrl(port: Pick<PublishedPort, 'hostIp' | 'hostPort'>): string {
  const host = !port.hostIp || port.hostIp === '0.0.0.0' || port.hostIp === '::' || port.hostIp === '127.0.0.1' ? 'localhost' : port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp;
  return `http://${host}:${port.hostPort}/`;
}

export class DockerActions extends DisposableOwner implements vscode.Disposable {
  /** Inspect documents' content, by URI: read-only, so closing one never asks to save. */
  private readonly inspected = new Map<string, string>();
  private readonly inspectChanged = this.register(new vscode.EventEmitter<vscode.Uri>());

  constructor(private readonly services: Services, private readonly pick: SandboxPicker) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(INSPECT_SCHEME, {
      onDidChange: this.inspectChanged.event,
      provideTextDocumentContent: (uri) => this.inspected.get(uri.toString()) ?? '',
    }));
    this.register(vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.uri.scheme === INSPECT_SCHEME) this.inspected.delete(doc.uri.toString());
    }));
  }

  /** The handlers, by command id (commands.ts wraps each so that errors show once, with the log). */
  handlers(): [string, (...args: any[]) => Promise<unknown>][] {
    return [
      ['paddock.followLogs', (arg?: unknown) => this.followLogs(arg)],
      ['paddock.inspect', (arg?: unknown) => this.inspect(arg)],
      ['paddock.restart', (arg?: unknown) => this.restart(arg)],
      ['paddock.copyName', (arg?: unknown) => this.copy(arg, 'name')],
      ['paddock.copyId', (arg?: unknown) => this.copy(arg, 'id')],
      ['paddock.openInBrowser', (arg?: unknown) => this.openInBrowser(arg)],
      ['paddock.pruneImages', () => this.pruneImages()],
    ];
  }

  /** `docker logs -f` in a terminal of its own; closing the terminal stops following. */
  private async followLogs(arg: unknown): Promise<void> {
    const s = await this.pick(arg, () => true, 'follow the log of');
    const engine = this.services.store.engine;
    const write = new vscode.EventEmitter<string>();
    const close = new vscode.EventEmitter<void>();
    let follower: { stop: () => void } | undefined;
    let ended = false;
    const terminal = vscode.window.createTerminal({
      name: `Logs: ${s.name}`, iconPath: new vscode.ThemeIcon('output'),
      pty: {
        onDidWrite: write.event, onDidClose: close.event,
        open: () => {
          write.fire(`${DIM}[paddock] log of sandbox ${s.name} (its main process), following; close the terminal to stop${RESET}\r\n`);
          void followLogs(engine, s.id, (text) => write.fire(text.replace(/\r?\n/g, '\r\n'))).then(async (f) => {
            follower = f;
            await f.ended;
            if (ended) return;
            ended = true;
            write.fire(`\r\n${DIM}[paddock] the sandbox stopped: the log ends here. Press any key to close.${RESET}\r\n`);
          }, (err) => {
            ended = true;
            write.fire(`\r\n[paddock] cannot follow the log: ${describeError(err)}. Press any key to close.\r\n`);
          });
        },
        handleInput: () => {
          if (ended) close.fire();
        },
        close: () => {
          ended = true;
          follower?.stop();
          write.dispose();
          close.dispose();
        },
      },
    });
    terminal.show();
  }

  /** The container's `docker inspect` JSON in a read-only editor. */
  private async inspect(arg: unknown): Promise<void> {
    const s = await this.pick(arg, () => true, 'inspect');
    const json = JSON.stringify(await inspectSandbox(this.services.store.engine, s.id), null, 2);
    const uri = vscode.Uri.from({ scheme: INSPECT_SCHEME, path: `/${s.name}.json`, query: String(Date.now()) });
    this.inspected.set(uri.toString(), `${json}\n`);
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.languages.setTextDocumentLanguage(doc, 'json');
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  /** Stop then start (the same start as Start: egress proxy, hiding checks, readiness). */
  private async restart(arg: unknown): Promise<void> {
    const s = await this.pick(arg, (x) => x.status === 'running' || x.status === 'paused', 'restart');
    const { store, terminals, log } = this.services;
    const open = terminals.terminalsOf(s.name);
    if (open.length) {
      const choice = await showWarningMessage(`Restart sandbox ${s.name}?`, {
        modal: true, detail: `Its ${open.length === 1 ? 'open terminal ends' : `${open.length} open terminals end`} (the agent in it is stopped). Files in the workspace and the sandbox's state are kept.`,
      }, 'Restart');
      if (choice !== 'Restart') return;
    }
    await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: restarting ${s.name}` }, async () => {
      for (const note of await startNotes(store.engine, s)) {
        log.warn(note);
        void showWarningMessage(`Paddock: ${note}`);
      }
      await restartSandbox(store.engine, s.id);
    });
    log.info(`Restarted ${s.name}`);
    store.scheduleReload();
    const again = await showInformationMessage(`Paddock: ${s.name} restarted.`, ...(open.length ? ['Open Terminal'] : []));
    if (again) terminals.attach(s.name, s.agent, { workspaceName: vscode.workspace.getWorkspaceFolder(vscode.Uri.file(s.workspace))?.name });
  }

  private async copy(arg: unknown, what: 'name' | 'id'): Promise<void> {
    const s = await this.pick(arg, () => true, `copy the ${what === 'id' ? 'ID' : 'name'} of`);
    const value = what === 'id' ? s.id : s.name;
    await vscode.env.clipboard.writeText(value);
    vscode.window.setStatusBarMessage(`$(check) Copied the sandbox ${what === 'id' ? 'ID' : 'name'}: ${what === 'id' ? value.slice(0, 12) : value}`, 4000);
  }

  /** Opens a published port: the one clicked in Ports, the only one, or the user's pick. */
  private async openInBrowser(arg: unknown): Promise<void> {
    const node = arg as TreeNode | undefined;
    let url = node?.url;
    if (!url) {
      const s = await this.pick(arg, (x) => x.status === 'running', 'open in the browser');
      const ports = (await this.services.store.engine.get(s.id)).ports.filter((p) => p.hostPort && p.protocol === 'tcp');
      if (!ports.length) {
        const choice = await showInformationMessage(`Paddock: ${s.name} publishes no port. Add one to "ports" in .paddock/policy.yaml (for example ports: [3000]) and apply it to the sandbox (Apply Changes: its state is kept).`, 'Open Policy');
        if (choice) await vscode.commands.executeCommand('paddock.openPolicy', { sandbox: s });
        return;
      }
      const picked = ports.length === 1 ? ports[0] : (await vscode.window.showQuickPick(ports.map((p) => ({ label: portUrl(p), description: `→ ${p.containerPort}/${p.protocol} in the sandbox`, p })), { placeHolder: `Port of ${s.name} to open` }))?.p;
      if (!picked) return;
      url = portUrl(picked);
    }
    // asExternalUri: in a remote window (code-server, SSH) the port is forwarded to where the browser is.
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(url));
    this.services.log.info(`Open in Browser: ${url}${external.toString() !== url ? ` (as ${external.toString()})` : ''}`);
    await vscode.env.openExternal(external);
  }

  /** Removes the template images no sandbox uses, after a confirmation that counts them. */
  private async pruneImages(): Promise<void> {
    const { store, log } = this.services;
    const unused = await findUnusedTemplateImages(store.engine.docker);
    if (!unused.length) {
      void showInformationMessage('Paddock: no unused template image. Every Paddock image is used by a sandbox or is the newest of its template (kept so that the next sandbox starts without a build).');
      return;
    }
    // A pick first, all selected: the user sees each image and can keep some.
    const items = unused.map((image) => ({ label: image.tags.join(', '), description: `${image.template} · ${formatBytes(image.size)} · built ${new Date(image.created * 1000).toLocaleString()}`, picked: true, image }));
    const chosen = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: `${unused.length} template image${unused.length === 1 ? '' : 's'} no sandbox uses (the newest of each template is kept). Uncheck any to keep.` });
    if (!chosen?.length) return;
    const images: UnusedImage[] = chosen.map((c) => c.image);
    const bytes = images.reduce((sum, i) => sum + i.size, 0);
    const kept = unused.length - images.length;
    const confirm = { title: images.length === 1 ? 'Remove Image' : `Remove ${images.length} Images` };
    const cancel = { title: 'Cancel', isCloseAffordance: true };
    const choice = await showWarningMessage(`Remove ${images.length} unused template image${images.length === 1 ? '' : 's'} (up to ${formatBytes(bytes)})?`, {
      modal: true,
      detail: `No sandbox uses ${images.length === 1 ? 'it' : 'them'}${kept ? `; ${kept} more unused image${kept === 1 ? '' : 's'} you unchecked stay` : ''}. The newest image of each template stays, so the next sandbox starts without a build; an older template is rebuilt if it is needed again. Space shared with kept images is not freed.`,
    }, cancel, confirm);
    if (choice !== confirm) return;
    const result = await withProgress({ location: vscode.ProgressLocation.Notification, title: `Paddock: removing ${images.length} template image${images.length === 1 ? '' : 's'}` }, () => removeTemplateImages(store.engine.docker, images));
    log.info(`Pruned ${result.removed.length} template image(s): ${result.removed.flatMap((i) => i.tags).join(', ')}`);
    for (const k of result.kept) log.warn(`Kept ${k.image.tags.join(', ')}: ${k.reason}`);
    const keptText = result.kept.length ? ` ${result.kept.length} kept (${result.kept.map((k) => `${k.image.tags[0]}: ${k.reason}`).join('; ')}).` : '';
    void showInformationMessage(`Paddock: removed ${result.removed.length} template image${result.removed.length === 1 ? '' : 's'} (up to ${formatBytes(result.freedBytes)}).${keptText}`);
  }
}
