/** A policy decision against a call: the agent gets `message`; the audit log gets `rule`. */
export class BridgeDenied extends Error {
  constructor(readonly rule: string, reason: string, readonly hint?: string) {
    super(`Denied by ${rule}: ${reason}${hint ? `\nTo allow it, a person would: ${hint}` : ''}`);
  }
}
