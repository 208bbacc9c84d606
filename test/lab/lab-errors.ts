// Errors of the Galera test lab. Every failure carries a stable `code` so tests (and the
// demo) can tell "this machine cannot run a lab" from "the cluster misbehaved".

export type LabErrorCode =
  | 'LAB_NOT_LINUX'
  | 'LAB_NOT_ROOT'
  | 'LAB_MISSING_BINARY'
  | 'LAB_NO_MYSQL_USER'
  | 'LAB_PORT_BUSY'
  | 'LAB_BUSY'
  | 'LAB_BAD_OPTIONS'
  | 'LAB_UNKNOWN_NODE'
  | 'LAB_NOTIFY_NOT_EXECUTABLE'
  | 'LAB_NODE_RUNNING'
  | 'LAB_NODE_NOT_RUNNING'
  | 'LAB_NODE_EXITED'
  | 'LAB_UNSAFE_BOOTSTRAP'
  | 'LAB_TIMEOUT'
  | 'LAB_COMMAND_FAILED'
  | 'LAB_RECOVER_FAILED'
  | 'LAB_CLOSED';

export class LabError extends Error {
  readonly code: LabErrorCode;

  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
    this.code = code;
  }
}

export const INSTALL_HINT = 'apt-get install -y mariadb-server galera-4 rsync';

/** Message of an unknown thrown value, for error texts. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
