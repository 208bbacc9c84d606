import { Packr } from 'msgpackr';
import { MinderError } from '../errors.js';

/**
 * A status summary travels as msgpack bytes cut into pages of at most PAGE_CHUNK_BYTES, so that
 * every `status_summary_page` datagram stays under the 1,152 bytes docs/protocol.md aims at (TARGET_DATAGRAM_BYTES); the command
 * asks again for the pages it misses. Pure: no I/O.
 */
export const PAGE_CHUNK_BYTES = 800;
export const MAX_PAGES = 256;

// Each summary stands alone: no shared record structures between encodings.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, int64AsType: 'number' });

export class PagingError extends MinderError {
  declare readonly code: 'PAGE_TOO_LARGE' | 'PAGE_BAD' | 'PAGE_UNDECODABLE';
  constructor(code: 'PAGE_TOO_LARGE' | 'PAGE_BAD' | 'PAGE_UNDECODABLE', message: string) {
    super(code, message);
  }
}

export function encodePages(doc: unknown, chunkBytes = PAGE_CHUNK_BYTES): Array<Uint8Array<ArrayBuffer>> {
  const bytes = packr.pack(doc);
  const pages: Array<Uint8Array<ArrayBuffer>> = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) pages.push(new Uint8Array(bytes.subarray(at, Math.min(at + chunkBytes, bytes.length))));
  if (pages.length === 0) pages.push(new Uint8Array(0));
  if (pages.length > MAX_PAGES) throw new PagingError('PAGE_TOO_LARGE', `the summary needs ${pages.length} pages, more than ${MAX_PAGES}`);
  return pages;
}

/** Collects the pages of one request in any order, duplicates included; whole when every page is in. */
export class PageAssembler {
  private pages: Array<Uint8Array | undefined> = [];
  private total: number | null = null;

  /** Returns false (and keeps nothing) for a page that contradicts the ones already held. */
  add(page: number, pages: number, chunk: Uint8Array): boolean {
    if (!Number.isInteger(pages) || pages < 1 || pages > MAX_PAGES || !Number.isInteger(page) || page < 0 || page >= pages) return false;
    if (this.total === null) {
      this.total = pages;
      this.pages = new Array<Uint8Array | undefined>(pages).fill(undefined);
    } else if (this.total !== pages) {
      return false;
    }
    this.pages[page] = chunk;
    return true;
  }

  get expected(): number | null {
    return this.total;
  }

  missing(): number[] {
    if (this.total === null) return [];
    const out: number[] = [];
    this.pages.forEach((p, i) => {
      if (p === undefined) out.push(i);
    });
    return out;
  }

  complete(): boolean {
    return this.total !== null && this.missing().length === 0;
  }

  decode(): unknown {
    if (!this.complete()) throw new PagingError('PAGE_BAD', `pages missing: ${this.missing().join(', ')}`);
    const whole = Buffer.concat(this.pages as Uint8Array[]);
    try {
      return packr.unpack(whole);
    } catch (err) {
      throw new PagingError('PAGE_UNDECODABLE', `the summary does not decode: ${(err as Error).message}`);
    }
  }
}
