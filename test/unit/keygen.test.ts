import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { accountIn, keygen } from '../../src/cli/keygen.js';

const dir = mkdtempSync(join(tmpdir(), 'minder-keygen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const passwd = join(dir, 'passwd');
writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nminder:x:64123:64124:galera-minder:/var/lib/minder:/usr/sbin/nologin\n');
const root = process.getuid?.() === 0;

describe('minder keygen', () => {
  it('reads an account from passwd lines', () => {
    expect(accountIn(readFileSync(passwd, 'utf8'), 'minder')).toEqual({ name: 'minder', uid: 64123, gid: 64124 });
    expect(accountIn('minderx:x:1:1::/:/bin/sh\n', 'minder')).toBeNull();
  });

  it.runIf(root)('as root, gives the key to the minder user (the units run as minder), mode 0600', () => {
    const k = join(dir, 'a.key');
    expect(keygen(k, undefined, passwd)).toMatch(/owner minder/);
    const st = statSync(k);
    expect([st.uid, st.gid, st.mode & 0o777]).toEqual([64123, 64124, 0o600]);
    expect(readFileSync(k, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it.runIf(root)('as root with no minder user, refuses and says how to get one (or --owner root)', () => {
    const k = join(dir, 'b.key');
    expect(() => keygen(k, undefined, join(dir, 'no-passwd'))).toThrow(/no user minder on this host: .*package.*--owner root/);
    expect(() => statSync(k)).toThrow();
    expect(keygen(k, 'root', passwd)).toMatch(/owner root/);
    expect(statSync(k).uid).toBe(0);
  });
});
