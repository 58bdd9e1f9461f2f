import { applySource } from './apply.js';
import type { SandboxEngine } from './engine.js';
import { prepareSandbox, type PreparedSandbox, type SandboxRequest } from './sandboxes.js';
import { taskRequest } from './tasks.js';
import type { TemplateOptions } from './templates.js';
import type { SandboxDetails } from './types.js';

/**
 * Resumes a sandbox whose guard stopped it (or froze it) because a path it must not read is there
 * now: an apply, the same as "paddock apply SANDBOX" (a new container from the old one's state, with
 * the mount plan of now, so the path is hidden) and a start. A task's sandbox stays its task's.
 * `templateOptions` are the caller's (what it makes templates with), so the template is the one the
 * sandbox's state sits on.
 */
export async function applyToHide(engine: SandboxEngine, details: SandboxDetails, templateOptions?: TemplateOptions, onProgress?: (line: string) => void): Promise<PreparedSandbox> {
  const { workspace, task } = await applySource(engine, details);
  const request: SandboxRequest = { agent: details.agent, workspace, name: details.name, recreate: true, templateOptions };
  return prepareSandbox(engine, task ? (await taskRequest(engine, request, { task }, onProgress)).request : request, onProgress);
}
