export * from './types.js';
export * from './readers.js';
export * from './fixes.js';
export * from './analyze.js';
export * from './git.js';
