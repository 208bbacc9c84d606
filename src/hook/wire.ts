import { createHmac, timingSafeEqual } from 'node:crypto';
import { HEADER_BYTES, MAGIC0, MAGIC1, MAX_DATAGRAM_BYTES, TAG_BYTES, WIRE_VERSION } from '../protocol/wire-constants.js';
import { MinderError } from '../errors.js';

/**
 * The datagram format of src/protocol/datagram.ts, for the wsrep_notify_cmd hook only, with
 * nothing but node:crypto: mariadbd waits for the hook on every Galera state change, and loading
 * msgpackr (with the ESM files around it) was a measurable part of the hook's start-up.
 *
 * It writes msgpack exactly as src/protocol's Packr does (useRecords: false): plain objects as
 * map16 in key order, integers in the smallest msgpack form up to 32 bits and float64 above,
 * strings and arrays in the smallest header for their length. test/unit/hook-wire.test.ts holds
 * it byte for byte to the real encoder, and its decoder to the real decoder, so the two cannot
 * drift apart unnoticed.
 */

// The fixed numbers come from the module the protocol itself uses (it imports nothing).
export { HEADER_BYTES, MAGIC0, MAGIC1, MAX_DATAGRAM_BYTES, TAG_BYTES, WIRE_VERSION };

export interface WireKey {
  readonly id: number;
  readonly secret: Buffer;
}

export interface WireEnvelope {
  site: string;
  from: string;
  to: string;
  verb: string;
  inc: number;
  id: number;
  at: number;
  body: unknown;
}

export class WireError extends MinderError {
  declare readonly code: 'HOOK_WIRE';
  constructor(message: string) {
    super('HOOK_WIRE', message);
  }
}

class Writer {
  buf = Buffer.allocUnsafe(1024);
  pos = 0;

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }
}

function pack(w: Writer, v: unknown): void {
  if (v === null) {
    w.byte(0xc0);
    return;
  }
  switch (typeof v) {
    case 'boolean':
      w.byte(v ? 0xc3 : 0xc2);
      return;
    case 'number':
      packNumber(w, v);
      return;
    case 'string':
      packString(w, v);
      return;
    case 'object': {
      if (Array.isArray(v)) {
        const n = v.length;
        if (n < 0x10) w.byte(0x90 | n);
        else if (n < 0x10000) {
          w.room(3);
          w.buf[w.pos++] = 0xdc;
          w.pos = w.buf.writeUInt16BE(n, w.pos);
        } else {
          w.room(5);
          w.buf[w.pos++] = 0xdd;
          w.pos = w.buf.writeUInt32BE(n, w.pos);
        }
        for (const x of v) pack(w, x);
        return;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        const keys = Object.keys(v);
        if (keys.length > 0xffff) throw new WireError('object too large');
        w.room(3);
        w.buf[w.pos++] = 0xde;
        w.pos = w.buf.writeUInt16BE(keys.length, w.pos);
        for (const k of keys) {
          packString(w, k);
          pack(w, (v as Record<string, unknown>)[k]);
        }
        return;
      }
      throw new WireError(`cannot encode a ${(v as object).constructor.name}`);
    }
    default:
      throw new WireError(`cannot encode a ${typeof v}`);
  }
}

function packNumber(w: Writer, v: number): void {
  w.room(9);
  const b = w.buf;
  if (v >>> 0 === v) {
    if (v < 0x80) b[w.pos++] = v;
    else if (v < 0x100) {
      b[w.pos++] = 0xcc;
      b[w.pos++] = v;
    } else if (v < 0x10000) {
      b[w.pos++] = 0xcd;
      w.pos = b.writeUInt16BE(v, w.pos);
    } else {
      b[w.pos++] = 0xce;
      w.pos = b.writeUInt32BE(v, w.pos);
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) b[w.pos++] = 0x100 + v;
    else if (v >= -0x80) {
      b[w.pos++] = 0xd0;
      b[w.pos++] = v + 0x100;
    } else if (v >= -0x8000) {
      b[w.pos++] = 0xd1;
      w.pos = b.writeInt16BE(v, w.pos);
    } else {
      b[w.pos++] = 0xd2;
      w.pos = b.writeInt32BE(v, w.pos);
    }
  } else {
    b[w.pos++] = 0xcb;
    w.pos = b.writeDoubleBE(v, w.pos);
  }
}

function packString(w: Writer, s: string): void {
  const n = Buffer.byteLength(s, 'utf8');
  w.room(5 + n);
  const b = w.buf;
  if (n < 0x20) b[w.pos++] = 0xa0 | n;
  else if (n < 0x100) {
    b[w.pos++] = 0xd9;
    b[w.pos++] = n;
  } else if (n < 0x10000) {
    b[w.pos++] = 0xda;
    w.pos = b.writeUInt16BE(n, w.pos);
  } else {
    b[w.pos++] = 0xdb;
    w.pos = b.writeUInt32BE(n, w.pos);
  }
  w.pos += b.write(s, w.pos, 'utf8');
}

/** The msgpack bytes src/protocol's Packr writes for `value` (plain data only). */
export function packPlain(value: unknown): Buffer {
  const w = new Writer();
  pack(w, value);
  return w.buf.subarray(0, w.pos);
}

export function encodeWire(env: WireEnvelope, key: WireKey): Buffer {
  const w = new Writer();
  w.room(HEADER_BYTES);
  w.buf[0] = MAGIC0;
  w.buf[1] = MAGIC1;
  w.buf[2] = WIRE_VERSION;
  w.buf[3] = key.id;
  w.pos = HEADER_BYTES;
  // The same key order as the envelope the daemons build.
  pack(w, { site: env.site, from: env.from, to: env.to, verb: env.verb, inc: env.inc, id: env.id, at: env.at, body: env.body });
  const signedEnd = w.pos;
  const total = signedEnd + TAG_BYTES;
  if (total > MAX_DATAGRAM_BYTES) throw new WireError(`datagram of ${total} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
  w.room(TAG_BYTES);
  createHmac('sha256', key.secret).update(w.buf.subarray(0, signedEnd)).digest().copy(w.buf, signedEnd);
  return Buffer.from(w.buf.subarray(0, total));
}

class Reader {
  pos = 0;
  constructor(readonly b: Buffer) {}

  need(n: number): number {
    const at = this.pos;
    if (at + n > this.b.length) throw new WireError('truncated msgpack');
    this.pos += n;
    return at;
  }
}

function str(r: Reader, n: number): string {
  const at = r.need(n);
  return r.b.toString('utf8', at, at + n);
}

function arr(r: Reader, n: number, depth: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(unpack(r, depth + 1));
  return out;
}

function map(r: Reader, n: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = unpack(r, depth + 1);
    if (typeof k !== 'string' && typeof k !== 'number') throw new WireError('map key is not a string or number');
    // defineProperty, not assignment: a "__proto__" key stays a plain key.
    Object.defineProperty(out, String(k), { value: unpack(r, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The msgpack subset the daemons write: nil, booleans, numbers, strings, bin, arrays, maps. */
function unpack(r: Reader, depth: number): unknown {
  if (depth > 32) throw new WireError('msgpack nested too deep');
  const b = r.b;
  const t = b[r.need(1)] as number;
  if (t < 0x80) return t;
  if (t >= 0xe0) return t - 0x100;
  if (t >= 0xa0 && t < 0xc0) return str(r, t & 0x1f);
  if (t >= 0x90 && t < 0xa0) return arr(r, t & 0x0f, depth);
  if (t >= 0x80 && t < 0x90) return map(r, t & 0x0f, depth);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return binary(r, b[r.need(1)] as number);
    case 0xc5:
      return binary(r, b.readUInt16BE(r.need(2)));
    case 0xc6:
      return binary(r, b.readUInt32BE(r.need(4)));
    case 0xca:
      return b.readFloatBE(r.need(4));
    case 0xcb:
      return b.readDoubleBE(r.need(8));
    case 0xcc:
      return b[r.need(1)] as number;
    case 0xcd:
      return b.readUInt16BE(r.need(2));
    case 0xce:
      return b.readUInt32BE(r.need(4));
    case 0xcf:
      return Number(b.readBigUInt64BE(r.need(8)));
    case 0xd0:
      return b.readInt8(r.need(1));
    case 0xd1:
      return b.readInt16BE(r.need(2));
    case 0xd2:
      return b.readInt32BE(r.need(4));
    case 0xd3:
      return Number(b.readBigInt64BE(r.need(8)));
    case 0xd9:
      return str(r, b[r.need(1)] as number);
    case 0xda:
      return str(r, b.readUInt16BE(r.need(2)));
    case 0xdb:
      return str(r, b.readUInt32BE(r.need(4)));
    case 0xdc:
      return arr(r, b.readUInt16BE(r.need(2)), depth);
    case 0xdd:
      return arr(r, b.readUInt32BE(r.need(4)), depth);
    case 0xde:
      return map(r, b.readUInt16BE(r.need(2)), depth);
    case 0xdf:
      return map(r, b.readUInt32BE(r.need(4)), depth);
    default:
      throw new WireError(`msgpack type 0x${t.toString(16)} is not used by galera-minder`);
  }
}

function binary(r: Reader, n: number): Uint8Array {
  const at = r.need(n);
  return new Uint8Array(r.b.subarray(at, at + n));
}

/** Reads back msgpack bytes as src/protocol's Packr does (for the subset above). */
export function unpackPlain(bytes: Buffer): unknown {
  const r = new Reader(bytes);
  const v = unpack(r, 0);
  if (r.pos !== bytes.length) throw new WireError('bytes after the msgpack value');
  return v;
}

/**
 * Authenticates a datagram with `key`, then reads its envelope; throws WireError for anything
 * else (another key id, a bad tag, not an envelope). The tag is checked before a byte is parsed.
 */
export function decodeWire(buf: Buffer, key: WireKey): WireEnvelope {
  if (buf.length > MAX_DATAGRAM_BYTES || buf.length < HEADER_BYTES + TAG_BYTES + 1) throw new WireError(`${buf.length} bytes`);
  if (buf[0] !== MAGIC0 || buf[1] !== MAGIC1 || buf[2] !== WIRE_VERSION) throw new WireError('not a galera-minder datagram of this version');
  if (buf[3] !== key.id) throw new WireError(`key id ${buf[3]} is not ours`);
  const signedEnd = buf.length - TAG_BYTES;
  const expected = createHmac('sha256', key.secret).update(buf.subarray(0, signedEnd)).digest();
  if (!timingSafeEqual(expected, buf.subarray(signedEnd))) throw new WireError('tag does not verify');
  const raw = unpackPlain(buf.subarray(HEADER_BYTES, signedEnd));
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new WireError('payload is not a map');
  const e = raw as Record<string, unknown>;
  for (const f of ['site', 'from', 'to', 'verb'] as const) if (typeof e[f] !== 'string') throw new WireError(`envelope field ${f} is not a string`);
  for (const f of ['inc', 'id', 'at'] as const) if (typeof e[f] !== 'number') throw new WireError(`envelope field ${f} is not a number`);
  return e as unknown as WireEnvelope;
}
