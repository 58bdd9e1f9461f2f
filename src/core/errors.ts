/** An error a user can act on: `message` says what is wrong, `hint` what to do about it. */
export class PaddockError extends Error {
  constructor(message: string, readonly hint?: string, readonly exitCode = 1) {
    super(message);
    this.name = 'PaddockError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof PaddockError) return err.hint ? `${err.message}\n  → ${err.hint}` : err.message;
  return err instanceof Error ? err.message : String(err);
}
