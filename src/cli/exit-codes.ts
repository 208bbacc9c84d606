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

export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
