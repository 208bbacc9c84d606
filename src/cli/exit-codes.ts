// The exit codes and the command line's error live with the one error vocabulary (src/errors.ts).
export { CliError, EXIT, type ExitCode } from '../errors.js';
