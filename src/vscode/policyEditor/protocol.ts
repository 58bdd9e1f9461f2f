// The one message protocol between the policy editor's host (policyEditor.ts) and its webview
// (media/policy-editor/src/main.ts). Pure: no `vscode` import, so the webview bundle imports
// its types and the host validates what the webview sends with the same definitions.
import { z } from 'zod';
import type { PolicyEditorModel } from '../../core/policyEditorModel.js';
import type { HideRuleAction } from '../../core/policyHideRules.js';
import { PERMISSION_KEYS, type PolicyEdit, type PolicyListPath } from '../../core/policyYamlEdit.js';
import { TIERS } from '../../core/policy.js';

/** How many files each hide rule hides, with a sample of them. */
export interface HideRulePreview {
  readonly pattern: string;
  readonly index: number;
  /** Paths this rule decides: hidden ones for a rule, re-included ones for a "!" rule. */
  readonly count: number;
  /** Files inside those paths (a hidden folder counts its files). */
  readonly files: number;
  readonly samples: readonly string[];
}

export interface HidePreview {
  /** The document version the preview was computed for. */
  readonly version: number;
  readonly rules: readonly HideRulePreview[];
  readonly hiddenPaths: number;
  readonly hiddenFiles: number;
  readonly scannedFiles: number;
  /** When the hide list cannot be read (broken YAML), why the preview is missing. */
  readonly error?: string;
}

export type HostMessage =
  /** The document's current state; sent on open and after every change of the text. */
  | { readonly type: 'document'; readonly version: number; readonly model: PolicyEditorModel; readonly workspace: string; readonly defaultHide: readonly string[] }
  | { readonly type: 'preview'; readonly preview: HidePreview }
  /** The answer to an edit request. */
  | { readonly type: 'editResult'; readonly requestId: number; readonly ok: boolean; readonly error?: string }
  /** The answer to a check of an entry as it is typed: the problem, or none. */
  | { readonly type: 'checkResult'; readonly requestId: number; readonly path: PolicyListPath; readonly value: string; readonly error?: string };

export type WebviewMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'edit'; readonly requestId: number; readonly edit: PolicyEdit }
  /** A hide rule switched off/on in place, deleted or moved; `position` in the model's hideRules, `pattern` to confirm it. */
  | { readonly type: 'hideRule'; readonly requestId: number; readonly position: number; readonly pattern: string; readonly action: HideRuleAction }
  | { readonly type: 'check'; readonly requestId: number; readonly path: PolicyListPath; readonly value: string }
  | { readonly type: 'openText' };

const entry = z.string().min(1).max(4096);
/** The lists of LIST_PATHS, and the commands of one bridge.exec entry (unit tests check they agree). */
const listPath = z.union([
  z.tuple([z.literal('hide')]),
  z.tuple([z.literal('readOnly')]),
  z.tuple([z.literal('bridge'), z.enum(['containers', 'deny', 'blockedPaths'])]),
  z.tuple([z.literal('network'), z.enum(['allow', 'deny'])]),
  z.tuple([z.literal('bridge'), z.literal('exec'), entry]),
]);
const index = z.number().int().min(0).max(100_000);

const setSchema = z.union([
  z.strictObject({ op: z.literal('set'), path: z.tuple([z.literal('tier')]), value: z.enum(TIERS) }),
  z.strictObject({ op: z.literal('set'), path: z.tuple([z.literal('network'), z.literal('policy')]), value: z.enum(['allow', 'deny']) }),
  z.strictObject({ op: z.literal('set'), path: z.tuple([z.literal('network'), z.literal('defaults')]), value: z.boolean() }),
  z.strictObject({ op: z.literal('set'), path: z.tuple([z.literal('bridge'), z.literal('permissions'), z.enum(PERMISSION_KEYS)]), value: z.boolean() }),
]);
const editSchema = z.union([
  z.strictObject({ op: z.literal('add'), path: listPath, value: entry }),
  z.strictObject({ op: z.literal('remove'), path: listPath, index }),
  z.strictObject({ op: z.literal('replace'), path: listPath, index, value: entry }),
  setSchema,
  z.strictObject({ op: z.literal('addExec'), key: entry }),
  z.strictObject({ op: z.literal('removeExec'), key: entry }),
]);

const webviewMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready') }),
  z.strictObject({ type: z.literal('edit'), requestId: z.number().int().min(0), edit: z.unknown() }),
  z.strictObject({ type: z.literal('hideRule'), requestId: z.number().int().min(0), position: index, pattern: entry, action: z.enum(['off', 'on', 'delete', 'up', 'down']) }),
  z.strictObject({ type: z.literal('check'), requestId: z.number().int().min(0), path: listPath, value: z.string().max(4096) }),
  z.strictObject({ type: z.literal('openText') }),
]);

/**
 * Checks a message from the webview. The webview is Paddock's own code, but it renders
 * workspace content, so the host accepts only well-formed requests on the paths it edits.
 */
export function parseWebviewMessage(raw: unknown): { ok: true; message: WebviewMessage } | { ok: false; error: string } {
  const outer = webviewMessageSchema.safeParse(raw);
  if (!outer.success) return { ok: false, error: `Malformed message from the policy editor: ${outer.error.issues[0]?.message ?? 'unknown shape'}` };
  if (outer.data.type !== 'edit') return { ok: true, message: outer.data as WebviewMessage };
  const edit = editSchema.safeParse(outer.data.edit);
  if (!edit.success) {
    const issue = edit.error.issues[0];
    return { ok: false, error: `Rejected edit from the policy editor: ${issue ? `${issue.path.join('.') || 'edit'}: ${issue.message}` : 'unknown shape'}` };
  }
  return { ok: true, message: { type: 'edit', requestId: outer.data.requestId, edit: edit.data as PolicyEdit } };
}
