/**
 * Drift findings: where the sandbox's hiding and the agents' own configs disagree, or where a
 * credential is listed nowhere. Findings are plain data with places in files, so the CLI prints
 * them and the editor turns them into diagnostics and quick fixes.
 */

/** A place in a file: 0-based offsets (UTF-16 code units, as editors count) and 1-based line/col. */
export interface SourceRange {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly col: number;
  readonly endLine: number;
  readonly endCol: number;
}

export type Severity = 'error' | 'warning' | 'info';

export type FindingRule =
  | 'policy-invalid'
  | 'denied-but-visible'
  | 'hidden-not-denied'
  | 'recreate-needed'
  | 'secret-not-hidden'
  | 'hidden-in-git'
  | 'gemini-ignore-disabled'
  | 'cage-absent';

/** A suggested change, as data: the editor applies it (fixes.ts has the text edits), the CLI prints it. */
export type Fix =
  /** Add a glob to the policy's hide list (creates .paddock/policy.yaml when missing). */
  | { readonly kind: 'add-hide'; readonly title: string; readonly file: string; readonly pattern: string }
  /** Add a rule such as "Read(./.env)" to permissions.deny of a Claude settings file. */
  | { readonly kind: 'add-claude-deny'; readonly title: string; readonly file: string; readonly rule: string }
  /** Append a pattern line to an ignore file (.aiexclude, .geminiignore). */
  | { readonly kind: 'add-ignore-line'; readonly title: string; readonly file: string; readonly line: string }
  /** Remove and create the sandbox again, so the current policy and files are mounted. */
  | { readonly kind: 'recreate-sandbox'; readonly title: string; readonly sandbox: string };

export interface Finding {
  /** Absolute path of the file the finding belongs in (it may not exist yet, e.g. a default policy). */
  readonly file: string;
  readonly range: SourceRange;
  /** No place in a file a user could edit (a default rule): `file` and `range` are not shown (the CLI prints the finding without them, the editor leaves it to the CLI). */
  readonly unplaced?: true;
  readonly severity: Severity;
  readonly message: string;
  readonly rule: FindingRule;
  /** Workspace-relative paths the finding is about. */
  readonly paths: readonly string[];
  readonly fixes: readonly Fix[];
}

/** Where a rule came from. */
export type RuleSource = 'policy' | 'claude' | 'aiexclude' | 'geminiignore' | 'compose' | 'devcontainer';

/** One rule of an agent config (or compose/devcontainer hiding), as a matcher over workspace-relative paths. */
export interface DenyRule {
  readonly source: RuleSource;
  readonly file: string;
  readonly range: SourceRange;
  /** As written in the file. */
  readonly text: string;
  /** The same rule as a workspace-relative glob (picomatch), or undefined when it points outside the workspace. */
  readonly glob?: string;
  readonly negated: boolean;
}

/** Every rule of one config file, in order (the last matching rule decides, as in .gitignore). */
export interface RuleFile {
  readonly source: RuleSource;
  readonly file: string;
  readonly rules: readonly DenyRule[];
  /** Where a new rule would go (e.g. the deny array), for findings about what is missing. */
  readonly anchor: SourceRange;
  /** Problems reading the file (bad JSON/YAML): reported, the rest of the analysis goes on. */
  readonly problems: readonly { readonly message: string; readonly range: SourceRange }[];
}

/** Turns offsets into ranges for one text. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.starts[lo] + 1 };
  }

  range(start: number, end: number): SourceRange {
    const a = this.position(start);
    const b = this.position(end);
    return { start, end, line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }
}

export const START_OF_FILE: SourceRange = { start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 };
