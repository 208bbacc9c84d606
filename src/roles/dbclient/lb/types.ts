import { MinderError } from '../../../errors.js';
// The contract between the dbclient's decision core and the load balancer it drives.
// The core computes a whole DESIRED state (design §2: whole state, never a change); an adapter
// makes one load balancer match it and reports what that load balancer does now.

export type AdminState = 'ready' | 'drain' | 'maint';

/** What the dbclient wants for one server in one backend. `server` is the party id, e.g. 'dbserver:2'. */
export interface DesiredServer {
  server: string;
  state: AdminState;
  weight: number;
  shutdownSessions: boolean;
}

/** Whole desired state: each logical backend ('write' | 'read') lists every server it knows. */
export interface DesiredLb {
  write: DesiredServer[];
  read: DesiredServer[];
}

export type LogicalBackend = 'write' | 'read';

export interface ObservedServer {
  backend: LogicalBackend;
  server: string;
  state: AdminState | 'unknown';
  operational: boolean;
  weight: number;
  sessions: number;
}

export interface ApplyOutcome {
  /** Servers on which at least one command took effect. */
  changed: number;
  /** Every command sent, in order, whether it succeeded or not. */
  commands: string[];
  /** One line per failure, each starting with its LbErrorCode. */
  errors: string[];
  /** The same failures as typed errors, for callers that branch on `code`. */
  failures?: LbError[];
}

export interface LoadBalancerAdapter {
  readonly kind: 'haproxy' | 'glb';
  observe(): Promise<ObservedServer[]>;
  /** Idempotent: compares with what the LB does now and sends only what differs; safe to call after an LB restart/reload. */
  apply(desired: DesiredLb): Promise<ApplyOutcome>;
  close(): Promise<void>;
}

export type LbErrorCode = 'LB_UNREACHABLE' | 'LB_PROTOCOL' | 'LB_UNKNOWN_SERVER' | 'LB_TIMEOUT';

/**
 * The one error type adapters throw or report. `code` is stable (callers and metrics branch on
 * it); `message` always names the load balancer, the endpoint and the operation, so a log line
 * never carries a bare "ECONNREFUSED" without saying what was being attempted.
 */
export class LbError extends MinderError {
  declare readonly code: LbErrorCode;

  constructor(code: LbErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }

  /** The form used in ApplyOutcome.errors. */
  toLine(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Minimal logger shape; a pino logger satisfies it. Adapters log nothing when none is given. */
export interface LbLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Builds an ApplyOutcome from failures so `errors` and `failures` never disagree. */
export function outcome(changed: number, commands: string[], failures: LbError[]): ApplyOutcome {
  return { changed, commands, errors: failures.map((f) => f.toLine()), failures };
}
