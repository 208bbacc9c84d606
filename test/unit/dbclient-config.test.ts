import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdapterConfigError, adapterFromConfig, glbControlEndpoint } from '../../src/roles/dbclient/adapter-from-config.js';
import { dbclientConfigOf } from '../../src/roles/dbclient/daemon.js';
import { parseSiteConfig } from '../../src/site/load-config.js';
import type { DbclientParty, SiteConfig } from '../../src/site/schema.js';

const example = readFileSync(new URL('../../config/site.example.yaml', import.meta.url), 'utf8');
const cfg = parseSiteConfig(example, 'example', '/etc/minder');
const client = (c: SiteConfig, id = 'dbclient:1') => c.parties.find((p) => p.id === id) as DbclientParty;

describe('dbclient from the site config', () => {
  it('knows every dbserver with its DC priority and serial, and the site timings', () => {
    const c = dbclientConfigOf(cfg, client(cfg));
    expect(c.arbitrator).toBe('arbitrator:1');
    expect(c.servers.map((s) => `${s.id}@${s.dc}/${s.dcPriority}#${s.serial}`)).toEqual(['dbserver:1@dc-east/1#1', 'dbserver:2@dc-east/1#2', 'dbserver:3@dc-west/2#3', 'dbserver:4@dc-west/2#4']);
    expect(c.staleAfterMs).toBe(15_000);
    expect(c.lbPollMs).toBe(1_000);
  });

  it('builds the HAProxy adapter the config names', async () => {
    const a = adapterFromConfig(cfg, client(cfg));
    expect(a.kind).toBe('haproxy');
    await a.close();
  });

  it('reads a glbd control address as TCP or a unix socket, and refuses anything else', () => {
    expect(glbControlEndpoint('127.0.0.1:4444')).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(glbControlEndpoint('/run/glbd.sock')).toEqual({ path: '/run/glbd.sock' });
    expect(() => glbControlEndpoint('glbd')).toThrow(AdapterConfigError);
  });

  it('needs an IP:PORT for every dbserver behind glbd, and names the missing ones', () => {
    const c = structuredClone(cfg);
    const me = client(c);
    me.loadBalancer = { kind: 'glb', control: '127.0.0.1:4444', servers: { 'dbserver:1': '10.0.1.11:3306' } };
    expect(() => adapterFromConfig(c, me)).toThrow(/gives no IP:PORT for dbserver:2, dbserver:3, dbserver:4/);
    me.loadBalancer.servers = { 'dbserver:1': '10.0.1.11:3306', 'dbserver:2': '10.0.1.12:3306', 'dbserver:3': '10.0.2.11:3306', 'dbserver:4': '10.0.2.12:3306' };
    expect(adapterFromConfig(c, me).kind).toBe('glb');
  });
});
