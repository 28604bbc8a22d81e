// @edgefleet/shared/cli: the command-line convention of edgefleet, edgefleet-hub and
// edgefleet-agent (docs/cli.md). Kept out of the package root, which is what both ends of a wire share.
export * from './command.js';
export * from './dispatch.js';
export * from './out-file.js';
export * from './progress.js';
export { closest } from './suggest.js';
export * from './time.js';
