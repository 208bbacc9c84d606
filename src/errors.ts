/**
 * The one error vocabulary. Every error minder throws on purpose is a MinderError with a stable
 * `code` (scripts, logs and tests branch on it, never on the message); what a code makes a party
 * or a command exit with is decided here and nowhere else.
 */

/** Documented in the README and `minder --help`; scripts and systemd rely on them. */
export const EXIT = {
  OK: 0,
  /** The daemon failed while running (logged with the reason). */
  FAILURE: 1,
  /** Bad command line or site config: nothing was started. */
  USAGE: 2,
  /** The party's state file cannot be opened or written. */
  STATE: 3,
  /** The UDP address cannot be bound (in use, not local). */
  NETWORK: 4,
  /** The peer (arbitrator, dbserver) did not answer in time. */
  NO_ANSWER: 5,
  /** The operator's request was refused (reason printed). */
  REFUSED: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every stable code, with the exit code it ends a process with when nothing catches it. */
export const ERROR_CODES = {
  // The command line or the site config (nothing was started).
  USAGE: EXIT.USAGE,
  CONFIG_INVALID: EXIT.USAGE,
  NO_USABLE_CONFIG: EXIT.USAGE,
  AMBIGUOUS_PARTY: EXIT.USAGE,
  NO_SUCH_VERSION: EXIT.USAGE,
  LB_CONFIG: EXIT.USAGE,
  DBSERVER_START: EXIT.USAGE,
  KEY_FILE_MISSING: EXIT.USAGE,
  KEY_FILE_PERMS: EXIT.USAGE,
  KEY_FORMAT: EXIT.USAGE,
  KEY_SHORT: EXIT.USAGE,
  KEY_ID: EXIT.USAGE,
  KEY_SEND: EXIT.USAGE,
  // The party's own state (its state file, its decision records).
  STATE: EXIT.STATE,
  STATE_OPEN: EXIT.STATE,
  STATE_CORRUPT: EXIT.STATE,
  STATE_WRITE: EXIT.STATE,
  STATE_NEWER: EXIT.STATE,
  RECORD_CORRUPT: EXIT.STATE,
  // Sockets.
  NETWORK: EXIT.NETWORK,
  UDP_BIND: EXIT.NETWORK,
  UDP_SEND: EXIT.NETWORK,
  HTTP_LISTEN: EXIT.NETWORK,
  // Peers and stores that did not answer.
  NO_ANSWER: EXIT.NO_ANSWER,
  NO_DATABASE_NO_COPY: EXIT.NO_ANSWER,
  DB_UNREACHABLE: EXIT.NO_ANSWER,
  // The operator's request refused.
  REFUSED: EXIT.REFUSED,
  // Failures while running (logged, counted; fatal only where nothing can go on).
  FAILURE: EXIT.FAILURE,
  DB_FAILED: EXIT.FAILURE,
  STORE_WRITE: EXIT.FAILURE,
  LB_UNREACHABLE: EXIT.FAILURE,
  LB_PROTOCOL: EXIT.FAILURE,
  LB_UNKNOWN_SERVER: EXIT.FAILURE,
  LB_TIMEOUT: EXIT.FAILURE,
  GALERA_FILE_MISSING: EXIT.FAILURE,
  GALERA_FILE_UNREADABLE: EXIT.FAILURE,
  GALERA_FILE_MALFORMED: EXIT.FAILURE,
  WSREP_PARSE: EXIT.FAILURE,
  HOOK_SOCKET: EXIT.FAILURE,
  HOOK_WIRE: EXIT.FAILURE,
  HOOK_FILE: EXIT.FAILURE,
  DATAGRAM_DROPPED: EXIT.FAILURE,
  PAGE_TOO_LARGE: EXIT.FAILURE,
  PAGE_BAD: EXIT.FAILURE,
  PAGE_UNDECODABLE: EXIT.FAILURE,
} as const satisfies Record<string, ExitCode>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MinderError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  get exitCode(): ExitCode {
    return ERROR_CODES[this.code];
  }
}

const CODE_OF_EXIT: Record<ExitCode, ErrorCode> = { 0: 'FAILURE', 1: 'FAILURE', 2: 'USAGE', 3: 'STATE', 4: 'NETWORK', 5: 'NO_ANSWER', 6: 'REFUSED' };

/** What the command line ends with: a message already worded for the operator, and an exit code. */
export class CliError extends MinderError {
  constructor(exitCode: ExitCode, message: string) {
    super(CODE_OF_EXIT[exitCode], message);
  }
}

/** The exit code for an error that reached the top of a process. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof MinderError ? err.exitCode : EXIT.FAILURE;
}
