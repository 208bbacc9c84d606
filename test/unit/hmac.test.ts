import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../src/protocol/hmac.js';

/** src/protocol/hmac.ts must give exactly createHmac's bytes: every datagram's tag depends on it. */
describe('HMAC-SHA256 over one-shot hashes', () => {
  it('equals createHmac for any key length (shorter than, equal to, longer than the 64-byte block) and any message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.array(fc.uint8Array({ minLength: 0, maxLength: 9000 }), { minLength: 1, maxLength: 4 }), (key, messages) => {
        // Messages in a row through one instance: its scratch buffers must not leak between them.
        const mac = new HmacSha256(key, 100);
        for (const m of messages) expect(mac.digest(m).equals(createHmac('sha256', key).update(m).digest())).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('the RFC 4231 test cases 1, 2 and 6 (a key longer than the block)', () => {
    const cases: Array<[Buffer, Buffer, string]> = [
      [Buffer.alloc(20, 0x0b), Buffer.from('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
      [Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    ];
    for (const [key, msg, tag] of cases) expect(new HmacSha256(key).digest(msg).toString('hex')).toBe(tag);
  });

  it('a view into a larger buffer is hashed as the view alone', () => {
    const key = Buffer.alloc(32, 7);
    const big = Buffer.from('xxxxpayloadyyyy');
    expect(new HmacSha256(key).digest(big.subarray(4, 11)).equals(createHmac('sha256', key).update('payload').digest())).toBe(true);
  });
});
