/** Paddock's version (labels sandboxes it creates; `paddock --version`). */
export const PADDOCK_VERSION = '0.1.0';
