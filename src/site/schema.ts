import { z } from 'zod';
import { parseDuration } from './duration.js';

/**
 * The site config document: one description of the whole site, the same on every host.
 * Durations are written "3s", "500ms"; every field is checked here, at load, before anything
 * starts.
 */
export const duration = (dflt: string) =>
  z
    .string()
    .default(dflt)
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (write e.g. 3s, 500ms, 2m)` });
        return z.NEVER;
      }
      return ms;
    });

const host = z.string().min(1).max(255);
const port = z.number().int().min(1).max(65535);
const dcName = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'a data centre name is 1-32 letters, digits, _ or -');

const mariadb = z
  .object({
    host: host.optional(),
    port: port.default(3306),
    socket: z.string().optional(),
    user: z.string().min(1).default('minder'),
    passwordFile: z.string().min(1),
    datadir: z.string().min(1).default('/var/lib/mysql'),
  })
  .strict()
  .refine((m) => m.host !== undefined || m.socket !== undefined, { message: 'give mariadb.host or mariadb.socket' });

const argv = z.array(z.string().min(1).max(4096)).min(1).max(64);

/**
 * How the dbserver starts, bootstraps, stops mariadbd and recovers its position on this host
 * (docs/cold-start.md). The defaults are Debian 12's systemd units with the two oneshot units and
 * the polkit rule galera-minder ships (systemd/): the dbserver never runs as root.
 */
const control = z
  .object({
    start: argv.default(['systemctl', 'start', 'mariadb.service']),
    bootstrap: argv.default(['systemctl', 'start', 'minder-galera-new-cluster.service']),
    stop: argv.default(['systemctl', 'stop', 'mariadb.service']),
    /** Prints the recovered position (galera_recovery's `--wsrep_start_position=UUID:SEQNO`, or mariadbd's log line). */
    recover: argv.default(['/bin/sh', '-c', 'systemctl start minder-galera-recovery.service && cat /run/minder-galera-recovery/position']),
    /** Bounds start, bootstrap and stop (Debian's mariadb.service allows 900 s for an SST). */
    timeout: duration('900s'),
    recoverTimeout: duration('120s'),
    /**
     * Whether the dbserver itself sets safe_to_bootstrap: 1 in grastate.dat before running the
     * bootstrap command. Off by default: the shipped bootstrap unit does it as root, so the
     * dbserver needs no write access to the datadir. On where the dbserver may write it (the lab).
     */
    editGrastate: z.boolean().default(false),
    /** Where mariadbd writes its pid (no --wsrep-recover while it names a live process). */
    pidFile: z.string().min(1).default('/run/mysqld/mysqld.pid'),
  })
  .strict()
  .prefault({});

const haproxy = z
  .object({
    kind: z.literal('haproxy'),
    socket: z.string().min(1),
    writeBackend: z.string().min(1).default('galera_write'),
    readBackend: z.string().min(1).default('galera_read'),
    /** party id → HAProxy server name; defaults to each dbserver's nodeName. */
    servers: z.record(z.string(), z.string().min(1)).default({}),
  })
  .strict();

const glb = z
  .object({
    kind: z.literal('glb'),
    control: z.string().min(1),
    /** party id → "IP:PORT" as glb routes to it. */
    servers: z.record(z.string(), z.string().regex(/^[^:]+:\d+$/, 'write IP:PORT')).default({}),
  })
  .strict();

/**
 * `http.listen`: "HOST:PORT", "[v6]:PORT", or a bare port (then loopback). Parsed here so that a
 * typo stops the start with the field named, not a bind error later.
 */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(s) ?? /^()()(\d{1,5})$/.exec(s);
  if (!m) return null;
  const portNo = Number(m[3]);
  if (portNo < 1 || portNo > 65535) return null;
  const h = m[1] || m[2] || '127.0.0.1';
  return { host: h, port: portNo };
}

const listen = z.union([z.string(), z.number().int()]).transform((v, ctx) => {
  const parsed = parseListen(String(v));
  if (parsed === null) {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an address to listen on (write HOST:PORT, [::1]:PORT, or a port for loopback)` });
    return z.NEVER;
  }
  return parsed;
});

const httpFields = {
  listen,
  /** Open connections at once; more are refused at accept (counted). */
  maxConnections: z.number().int().min(1).max(10_000).default(64),
};
/** Read-only HTTP (docs/observability.md): /metrics and /health everywhere; no block, nothing served. */
const http = z.object(httpFields).strict();
/** The arbitrator's also serves the API and the status page, optionally behind a bearer token. */
const arbitratorHttp = z.object({ ...httpFields, tokenFile: z.string().min(1).optional() }).strict();

const common = { host, port, dc: dcName.optional(), http: http.optional() };

const arbitrator = z.object({ id: z.string().regex(/^arbitrator:[1-9][0-9]{0,5}$/), ...common, http: arbitratorHttp.optional() }).strict();
const dbserver = z
  .object({
    id: z.string().regex(/^dbserver:[1-9][0-9]{0,5}$/),
    ...common,
    dc: dcName,
    weight: z.number().int().min(0).max(255).default(1),
    nodeName: z.string().min(1).max(64),
    mariadb,
    /**
     * The unix socket the shell hook (systemd/wsrep-notify.sh) writes to: mode 0660, group of
     * mariadb.datadir. The hook's argument when not the default (docs/dbserver.md).
     */
    hookSocket: z.string().regex(/^\//, 'an absolute path').max(107, 'a unix socket path has at most 107 bytes').default('/run/minder/hook.sock'),
    control,
    /** Donor nodes may serve reads at sites that allow it. */
    allowDonorReads: z.boolean().default(false),
  })
  .strict();
const dbclient = z
  .object({
    id: z.string().regex(/^dbclient:[1-9][0-9]{0,5}$/),
    ...common,
    loadBalancer: z.discriminatedUnion('kind', [haproxy, glb]),
  })
  .strict();

const party = z.unknown().transform((raw, ctx) => {
  const type = typeof raw === 'object' && raw !== null && 'id' in raw ? String((raw as { id: unknown }).id).split(':')[0] : undefined;
  const schema = type === 'arbitrator' ? arbitrator : type === 'dbserver' ? dbserver : type === 'dbclient' ? dbclient : null;
  if (!schema) {
    ctx.addIssue({ code: 'custom', path: ['id'], message: `unknown party type in id ${JSON.stringify(type ?? raw)}: use arbitrator:N, dbserver:N or dbclient:N` });
    return z.NEVER;
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: issue.path } as never);
    return z.NEVER;
  }
  return r.data as ArbitratorParty | DbserverParty | DbclientParty;
});

/**
 * Where the arbitrator keeps its records (docs/arbitrator-ha.md). `local`: its own SQLite file,
 * one arbitrator per site. `etcd`: a consensus store; then several arbitrators may run, one
 * leads (holds a lease) and acts, and every decision is a compare-and-set in etcd.
 */
const etcdStore = z
  .object({
    store: z.literal('etcd'),
    etcd: z
      .object({
        endpoints: z
          .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'write http(s)://host:port'))
          .min(1)
          .max(9),
        /** Client TLS: a CA to check the members, and this host's certificate and key (mode 0600). */
        tls: z
          .object({ ca: z.string().min(1), cert: z.string().min(1).optional(), key: z.string().min(1).optional() })
          .strict()
          .optional(),
        /** Every key of this site lives under it; default /galera-minder/<site>. */
        prefix: z
          .string()
          .regex(/^\/[A-Za-z0-9_./-]{0,200}[A-Za-z0-9_-]$/, 'a prefix starts with / and has no trailing /')
          .optional(),
        /** The leader's lease: another arbitrator may lead this long after the leader is lost. */
        leaseTtl: duration('5s'),
        /** Every etcd request is given up after this (the arbitrator then decides nothing). */
        requestTimeout: duration('2s'),
        /** How often a standby arbitrator re-reads the records (its hot view). */
        followInterval: duration('1s'),
      })
      .strict(),
  })
  .strict();
const localStore = z.object({ store: z.literal('local') }).strict();
export const arbitratorStoreSchema = z.discriminatedUnion('store', [localStore, etcdStore]);

/** Shared with the per-host bootstrap file (src/site/bootstrap.ts), which names the same things. */
export const siteNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a site name is 1-64 letters, digits, _ . or -');
export const keysSchema = z
  .object({
    send: z.number().int().min(1).max(255),
    files: z.array(z.object({ id: z.number().int().min(1).max(255), path: z.string().min(1) }).strict()).min(1),
  })
  .strict();

export const siteConfigSchema = z
  .object({
    site: siteNameSchema,
    dataCentres: z.record(dcName, z.object({ priority: z.number().int().min(1).max(99) }).strict()),
    keys: keysSchema,
    timings: z
      .object({
        reportInterval: duration('5s'),
        ackTimeout: duration('3s'),
        failoverPeriod: duration('10s'),
        staleAfter: duration('15s'),
        /** Every party's clock is within this of every other's (NTP): bounds a datagram's time in transit. */
        maxClockSkew: duration('5s'),
        /** The arbitrator's wall clock moving this much against its monotonic clock is a jump: TILT. */
        clockJump: duration('2s'),
        /** How long the arbitrator does not promote after a clock jump (at least staleAfter). */
        tiltPeriod: duration('30s'),
        makePrimaryValidFor: duration('30s'),
        /** How often a party started with --bootstrap re-reads the site config from the database. */
        configRefresh: duration('60s'),
      })
      .strict()
      // prefault, not default: zod 4's default() returns {} as it is, without the inner defaults.
      .prefault({}),
    /**
     * Cold start (docs/cold-start.md): auto bootstraps by the rule once every node has reported;
     * confirm proposes and waits for `minder command bootstrap confirm`; off only reports.
     */
    coldStart: z
      .object({
        policy: z.enum(['auto', 'confirm', 'off']).default('auto'),
        /** Automatic promotions and bootstraps allowed per window; past it the arbitrator pauses itself. */
        maxAutomatic: z.number().int().min(1).max(100).default(3),
        window: duration('1h'),
      })
      .strict()
      .prefault({}),
    stateDir: z.string().min(1).default('/var/lib/minder'),
    arbitrator: arbitratorStoreSchema.prefault({ store: 'local' }),
    parties: z.array(party).min(1),
  })
  .strict();

export type ArbitratorParty = z.infer<typeof arbitrator>;
export type DbserverParty = z.infer<typeof dbserver>;
export type DbclientParty = z.infer<typeof dbclient>;
export type Party = ArbitratorParty | DbserverParty | DbclientParty;
export type SiteConfig = z.infer<typeof siteConfigSchema>;
export type Timings = SiteConfig['timings'];
export type HttpConfig = z.infer<typeof arbitratorHttp>;
export type ArbitratorStoreConfig = SiteConfig['arbitrator'];
export type EtcdStoreConfig = Extract<ArbitratorStoreConfig, { store: 'etcd' }>['etcd'];
