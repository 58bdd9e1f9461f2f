import { homedir } from 'node:os';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import { findNodeAtLocation, parseTree, type Node as JsonNode, type ParseError, printParseErrorCode } from 'jsonc-parser';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { toPosix } from '../hiding.js';
import { LineIndex, START_OF_FILE, type DenyRule, type RuleFile, type RuleSource, type SourceRange } from './types.js';

/**
 * Readers of the configs that say what an agent must not read, each rule with its place in the
 * file and translated to a workspace-relative glob, so the rules of every system can be
 * compared with the sandbox's mount plan.
 */

/** Path of `abs` relative to the workspace ('/'-separated), or undefined when it lies outside. */
export function insideWorkspace(workspace: string, abs: string): string | undefined {
  const r = relative(workspace, abs);
  if (r === '') return '';
  if (r.startsWith('..') || isAbsolute(r)) return undefined;
  return toPosix(r);
}

/**
 * A .gitignore pattern (relative to `base`, a workspace-relative folder) as a picomatch glob:
 * no slash (but a trailing one) matches at any depth below base; otherwise it is anchored at base.
 * A pattern that names a folder names everything in it (the hiding matcher adds "/**").
 */
export function gitignoreToGlob(pattern: string, base = ''): { glob: string; negated: boolean } | undefined {
  // Leading blanks are kept by git, but in these files they are always a typing accident.
  let p = pattern.trimStart().replace(/(?<!\\)\s+$/, '');
  if (!p || p.startsWith('#')) return undefined;
  const negated = p.startsWith('!');
  if (negated) p = p.slice(1);
  p = p.replace(/^\\([#!])/, '$1');
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  if (!p) return undefined;
  const anchored = p.includes('/');
  p = p.replace(/^\/+/, '');
  let glob = anchored ? p : `**/${p}`;
  if (base) glob = `${base}/${glob}`;
  if (dirOnly) glob = `${glob}/**`;
  return { glob, negated };
}

/** A gitignore-style file: .aiexclude, .geminiignore (nested ones apply to their folder). */
export function readIgnoreFile(source: RuleSource, file: string, text: string, workspace: string): RuleFile {
  const index = new LineIndex(text);
  const base = insideWorkspace(workspace, dirname(file)) ?? '';
  const rules: DenyRule[] = [];
  let offset = 0;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    const converted = gitignoreToGlob(line, base);
    if (converted) {
      const lead = line.length - line.trimStart().length;
      const body = line.trim();
      rules.push({ source, file, range: index.range(offset + lead, offset + lead + body.length), text: body, glob: converted.glob, negated: converted.negated });
    }
    offset += rawLine.length + 1;
  }
  const end = index.range(text.length, text.length);
  return { source, file, rules, anchor: end, problems: [] };
}

function jsonRange(index: LineIndex, node: JsonNode): SourceRange {
  return index.range(node.offset, node.offset + node.length);
}

function parseJsonc(text: string, index: LineIndex): { root?: JsonNode; problems: RuleFile['problems'] } {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  return { root, problems: errors.map((e) => ({ message: `Invalid JSON: ${printParseErrorCode(e.error)}`, range: index.range(e.offset, e.offset + e.length) })) };
}

/**
 * `Read(...)` rules of permissions.deny in .claude/settings.json or settings.local.json, with
 * Claude Code's path forms: "//abs" (absolute), "~/p" (home), "/p" (the project root, for
 * project settings), "./p" (the project root); gitignore semantics otherwise ("*.pem" at any depth).
 */
export function readClaudeSettings(file: string, text: string, workspace: string, home = homedir()): RuleFile {
  const index = new LineIndex(text);
  const { root, problems } = parseJsonc(text, index);
  const rules: DenyRule[] = [];
  const deny = root ? findNodeAtLocation(root, ['permissions', 'deny']) : undefined;
  const permissions = root ? findNodeAtLocation(root, ['permissions']) : undefined;
  if (deny?.type === 'array') {
    for (const item of deny.children ?? []) {
      if (item.type !== 'string') continue;
      const value = String(item.value);
      const m = /^Read\((.*)\)$/s.exec(value.trim());
      if (!m) continue;
      rules.push({ source: 'claude', file, range: jsonRange(index, item), text: value, glob: claudePathToGlob(m[1], workspace, home), negated: false });
    }
  }
  const anchor = deny ? jsonRange(index, deny) : permissions ? jsonRange(index, permissions) : root ? index.range(root.offset, root.offset + 1) : START_OF_FILE;
  return { source: 'claude', file, rules, anchor, problems };
}

export function claudePathToGlob(spec: string, workspace: string, home = homedir()): string | undefined {
  const s = spec.trim();
  if (!s || s === '*' || s === '**') return '**';
  // A trailing slash names a folder and everything in it.
  if (s.length > 1 && s.endsWith('/') && !s.endsWith('//')) return claudePathToGlob(`${s}**`, workspace, home);
  const outside = (abs: string, rest: string) => {
    const rel = insideWorkspace(workspace, abs);
    if (rel === undefined) {
      // The workspace itself may lie under the pattern ("~/**" covers a workspace in home).
      const fromAbs = insideWorkspace(abs, workspace);
      if (fromAbs === undefined || !/\*\*/.test(rest)) return undefined;
      return '**';
    }
    return rel ? `${rel}${rest ? `/${rest}` : ''}` : rest || '**';
  };
  const splitGlob = (p: string) => {
    const parts = p.split('/');
    const i = parts.findIndex((x) => /[*?[\]{}]/.test(x));
    return i < 0 ? { dir: p, rest: '' } : { dir: parts.slice(0, i).join('/') || '/', rest: parts.slice(i).join('/') };
  };
  if (s.startsWith('//')) {
    const { dir, rest } = splitGlob(s.slice(1));
    return outside(dir, rest);
  }
  if (s.startsWith('~/')) {
    const { dir, rest } = splitGlob(posix.join(toPosix(home), s.slice(2)));
    return outside(dir, rest);
  }
  if (s.startsWith('./')) return posix.normalize(s.slice(2)).replace(/\/$/, '/**') || '**';
  if (s.startsWith('/')) return s.slice(1).replace(/\/$/, '/**') || '**';
  return gitignoreToGlob(s)?.glob;
}

/** .gemini/settings.json: whether Gemini CLI applies .geminiignore at all. */
export interface GeminiSettings {
  readonly file: string;
  readonly respectGeminiIgnore: boolean;
  /** The setting that turns it off, when it does. */
  readonly range: SourceRange;
  readonly problems: RuleFile['problems'];
}

export function readGeminiSettings(file: string, text: string): GeminiSettings {
  const index = new LineIndex(text);
  const { root, problems } = parseJsonc(text, index);
  for (const path of [['context', 'fileFiltering', 'respectGeminiIgnore'], ['fileFiltering', 'respectGeminiIgnore']]) {
    const node = root ? findNodeAtLocation(root, path) : undefined;
    if (node && node.value === false) return { file, respectGeminiIgnore: false, range: jsonRange(index, node), problems };
  }
  return { file, respectGeminiIgnore: true, range: START_OF_FILE, problems };
}

interface PathMapping { readonly container: string; readonly host: string }

/** Container path → host path through the service's binds (the longest matching container prefix wins). */
function toHost(mappings: readonly PathMapping[], containerPath: string): string | undefined {
  let best: PathMapping | undefined;
  for (const m of mappings) {
    if (containerPath === m.container || containerPath.startsWith(`${m.container.replace(/\/$/, '')}/`)) {
      if (!best || m.container.length > best.container.length) best = m;
    }
  }
  if (!best) return undefined;
  return join(best.host, posix.relative(best.container, containerPath));
}

/**
 * A compose file: per service, `/dev/null` bound over a path (a hidden file) and tmpfs over a
 * path (a hidden folder), mapped back to the workspace through the service's bind of the project.
 */
export function readCompose(file: string, text: string, workspace: string): RuleFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const index = new LineIndex(text);
  const problems = doc.errors.map((e) => ({ message: `Invalid YAML: ${e.message.split('\n')[0]}`, range: index.range(e.pos[0], e.pos[1]) }));
  const rules: DenyRule[] = [];
  const baseDir = dirname(file);
  const range = (node: YamlNode | undefined) => (node?.range ? index.range(node.range[0], node.range[1]) : START_OF_FILE);
  const services = isMap(doc.contents) ? doc.contents.get('services', true) : undefined;
  if (isMap(services)) {
    for (const pair of services.items) {
      const service = pair.value;
      if (!isMap(service)) continue;
      const volumes = service.get('volumes', true);
      const mappings: PathMapping[] = [];
      const hides: { target: string; kind: 'file' | 'dir'; node: YamlNode }[] = [];
      const each = (seq: unknown, fn: (item: YamlNode) => void) => { if (isSeq(seq)) for (const item of seq.items) fn(item as YamlNode); };
      each(volumes, (item) => {
        let source: string | undefined;
        let target: string | undefined;
        let type: string | undefined;
        if (isScalar(item)) {
          const parts = String(item.value).split(':');
          if (parts.length >= 2) { source = parts[0]; target = parts[1]; }
          else target = parts[0];
        } else if (isMap(item)) {
          source = item.get('source') as string | undefined;
          target = item.get('target') as string | undefined;
          type = item.get('type') as string | undefined;
        }
        if (!target) return;
        if (type === 'tmpfs') { hides.push({ target, kind: 'dir', node: item }); return; }
        if (source === '/dev/null') { hides.push({ target, kind: 'file', node: item }); return; }
        if (source && (source.startsWith('.') || source.startsWith('/') || source.startsWith('~'))) {
          const host = source.startsWith('~') ? join(homedir(), source.slice(1)) : resolve(baseDir, source);
          mappings.push({ container: target, host });
        }
      });
      const tmpfs = service.get('tmpfs', true);
      if (isScalar(tmpfs)) hides.push({ target: String(tmpfs.value).split(':')[0], kind: 'dir', node: tmpfs });
      each(tmpfs, (item) => { if (isScalar(item)) hides.push({ target: String(item.value).split(':')[0], kind: 'dir', node: item }); });
      for (const h of hides) {
        const host = toHost(mappings, h.target);
        const rel = host ? insideWorkspace(workspace, host) : undefined;
        if (!rel) continue;
        rules.push({ source: 'compose', file, range: range(h.node), text: String(isScalar(h.node) ? h.node.value : h.target), glob: h.kind === 'dir' ? `${rel}/**` : rel, negated: false });
      }
    }
  }
  return { source: 'compose', file, rules, anchor: START_OF_FILE, problems };
}

/** devcontainer.json mounts: source=/dev/null over a file, type=tmpfs over a folder. */
export function readDevcontainer(file: string, text: string, workspace: string): RuleFile {
  const index = new LineIndex(text);
  const { root, problems } = parseJsonc(text, index);
  const rules: DenyRule[] = [];
  if (root) {
    const str = (path: string[]) => {
      const n = findNodeAtLocation(root, path);
      return n?.type === 'string' ? String(n.value) : undefined;
    };
    const local = workspace;
    const subst = (s: string, containerWs: string) => s
      .replace(/\$\{localWorkspaceFolder\}/g, local)
      .replace(/\$\{localWorkspaceFolderBasename\}/g, posix.basename(toPosix(local)))
      .replace(/\$\{containerWorkspaceFolder\}/g, containerWs)
      .replace(/\$\{containerWorkspaceFolderBasename\}/g, posix.basename(containerWs));
    const containerWs = subst(str(['workspaceFolder']) ?? `/workspaces/${posix.basename(toPosix(local))}`, '');
    const mappings: PathMapping[] = [{ container: containerWs, host: local }];
    const workspaceMount = str(['workspaceMount']);
    if (workspaceMount) {
      const m = parseMountString(subst(workspaceMount, containerWs));
      if (m.source && m.target) mappings.push({ container: m.target, host: resolve(local, m.source) });
    }
    const mounts = findNodeAtLocation(root, ['mounts']);
    for (const item of mounts?.children ?? []) {
      let spec: Record<string, string> = {};
      if (item.type === 'string') spec = parseMountString(subst(String(item.value), containerWs));
      else if (item.type === 'object') {
        for (const prop of item.children ?? []) {
          const [k, v] = prop.children ?? [];
          if (k && v && v.type === 'string') spec[String(k.value)] = subst(String(v.value), containerWs);
        }
      }
      const target = spec.target ?? spec.destination ?? spec.dst;
      if (!target) continue;
      const kind = spec.type === 'tmpfs' ? 'dir' : (spec.source ?? spec.src) === '/dev/null' ? 'file' : undefined;
      if (!kind) continue;
      const host = toHost(mappings, target);
      const rel = host ? insideWorkspace(workspace, host) : undefined;
      if (!rel) continue;
      rules.push({ source: 'devcontainer', file, range: jsonRange(index, item), text: item.type === 'string' ? String(item.value) : target, glob: kind === 'dir' ? `${rel}/**` : rel, negated: false });
    }
  }
  return { source: 'devcontainer', file, rules, anchor: START_OF_FILE, problems };
}

function parseMountString(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (out.src && !out.source) out.source = out.src;
  if ((out.dst || out.destination) && !out.target) out.target = out.dst ?? out.destination;
  return out;
}

/** The policy's hide list, each glob with its place in .paddock/policy.yaml. */
export function readPolicyHide(file: string, text: string, key: 'hide' | 'readOnly' = 'hide'): RuleFile {
  const doc = parseDocument(text, { prettyErrors: false });
  const index = new LineIndex(text);
  const rules: DenyRule[] = [];
  let anchor = START_OF_FILE;
  if (isMap(doc.contents)) {
    const pair = doc.contents.items.find((p) => isScalar(p.key) && p.key.value === key);
    const seq = pair?.value;
    if (pair && isScalar(pair.key) && pair.key.range) anchor = index.range(pair.key.range[0], pair.key.range[1]);
    if (isSeq(seq)) {
      for (const item of seq.items) {
        if (!isScalar(item) || typeof item.value !== 'string') continue;
        const negated = item.value.startsWith('!');
        rules.push({ source: 'policy', file, range: item.range ? index.range(item.range[0], item.range[1]) : anchor, text: item.value, glob: negated ? item.value.slice(1) : item.value, negated });
      }
    }
  }
  return { source: 'policy', file, rules, anchor, problems: [] };
}
