/** A policy decision against a call: the agent gets `message`; the audit log gets `rule`. */
export class BridgeDenied extends Error {
  constructor(readonly rule: string, reason: string, readonly hint?: string) {
    super(`Denied by ${rule}: ${reason}${hint ? `\nTo allow it, a person would: ${hint}` : ''}`);
  }
}

/** A call's client cancelled it or went away while it ran; `outcome` says what became of its command. */
export class CallCancelled extends Error {
  constructor(cancelled: AbortSignal, readonly outcome: string) {
    super(`cancelled: ${cancelReason(cancelled)}; ${outcome}`);
  }
}

/** The reason the server gives a call whose connection closed: any other string is the client's own cancel. */
export const CLIENT_GONE = 'client gone';

function cancelReason(cancelled: AbortSignal): string {
  // The SDK aborts without a reason when the session ends; the server passes CLIENT_GONE when the connection closes.
  return typeof cancelled.reason === 'string' && cancelled.reason !== CLIENT_GONE ? 'the client cancelled it' : CLIENT_GONE;
}
