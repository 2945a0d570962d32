/**
 * The WeCom agent registry: one record read for an agent's first cold request, and configured agents kept out.
 * docs/design.md §13.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { countStoreOps } from '../store/counting';
import { createMemoryStore } from '../store/memory';
import { AgentRegistry } from './agents';

const CONFIG = {
  masterKey: Buffer.alloc(32, 7),
  work: [{ corpid: 'ww1', agentid: '1000002', secret: 'configured-secret' }],
};
const AGENT = { corpid: 'ww1', agentid: '1000009' };

describe('AgentRegistry', () => {
  it("a registered agent's lookup and the token fetch right after it read its record once; a later fetch reads it anew", async () => {
    const counted = countStoreOps(createMemoryStore());
    await new AgentRegistry(CONFIG, counted.store, Date.now, silentLogger).register(AGENT, 'secret-one', undefined);
    const registry = new AgentRegistry(CONFIG, counted.store, Date.now, silentLogger); // another process
    counted.reset();
    expect(await registry.find(AGENT.corpid, AGENT.agentid)).toEqual(AGENT);
    expect(await registry.secret(AGENT)).toBe('secret-one');
    expect(counted.byOp().getRecord).toBe(1);

    // Replaced elsewhere: the next fetch opens the new record.
    await new AgentRegistry(CONFIG, counted.store, Date.now, silentLogger).register(AGENT, 'secret-two', undefined);
    expect(await registry.secret(AGENT)).toBe('secret-two');
    // the registration read the record and the one entry of the agents' list; the fetch read the record
    expect(counted.byOp().getRecord).toBe(4);
  });

  it('the record a lookup read is not used by a fetch that comes later than a moment after', async () => {
    let clock = Date.now();
    const store = createMemoryStore();
    await new AgentRegistry(CONFIG, store, () => clock, silentLogger).register(AGENT, 'secret-one', undefined);
    const registry = new AgentRegistry(CONFIG, store, () => clock, silentLogger);
    await registry.find(AGENT.corpid, AGENT.agentid);
    await new AgentRegistry(CONFIG, store, () => clock, silentLogger).register(AGENT, 'secret-two', undefined);
    clock += 1_000;
    expect(await registry.secret(AGENT)).toBe('secret-two');
  });

  it('knows its configured agents, and refuses to register over one', async () => {
    const store = createMemoryStore();
    const registry = new AgentRegistry(CONFIG, store, Date.now, silentLogger);
    expect(registry.configured('ww1', '1000002')).toBe(true);
    expect(registry.configured('ww1', '1000009')).toBe(false);
    await expect(registry.register({ corpid: 'ww1', agentid: '1000002' }, 'other', undefined)).rejects.toThrow(
      /configured \(config\.work\)/,
    );
    expect(await store.getRecord('agent:ww1:1000002', Date.now())).toBeNull();
    expect(await registry.secret({ corpid: 'ww1', agentid: '1000002' })).toBe('configured-secret');
  });

  it("an agent of another corp with a configured agent's id is not that configured agent", async () => {
    const registry = new AgentRegistry(CONFIG, createMemoryStore(), Date.now, silentLogger);
    const other = { corpid: 'ww2', agentid: '1000002' };
    expect(registry.configured(other.corpid, other.agentid)).toBe(false);
    expect(await registry.find(other.corpid, other.agentid)).toBeUndefined();
    await registry.register(other, 'secret-of-ww2', undefined);
    expect(await registry.find(other.corpid, other.agentid)).toEqual(other);
    expect(await registry.secret(other)).toBe('secret-of-ww2');
  });
});

describe('AgentRegistry secrets that cannot be used', () => {
  const OTHER_KEY = { ...CONFIG, masterKey: Buffer.alloc(32, 9) };

  it('an agent never registered is a configuration fault naming it', async () => {
    const registry = new AgentRegistry(CONFIG, createMemoryStore(), Date.now, silentLogger);
    await expect(registry.secret(AGENT)).rejects.toMatchObject({
      code: 'config_fault',
      message: 'WeCom agent ww1/1000009 is not registered',
    });
  });

  it('a secret sealed under another master key is a configuration fault saying what to check, never the sealed text', async () => {
    const store = createMemoryStore();
    await new AgentRegistry(CONFIG, store, Date.now, silentLogger).register(AGENT, 'secret-one', undefined);
    const err = await new AgentRegistry(OTHER_KEY, store, Date.now, silentLogger).secret(AGENT).catch((e) => e);
    expect(err).toMatchObject({ code: 'config_fault' });
    expect(err.message).toMatch(
      /^the stored secret of WeCom agent ww1\/1000009 does not open \(.+\): check WECRED_MASTER_KEY$/,
    );
    expect(err.message).not.toContain('secret-one');
  });

  it('registering over a secret sealed under another key replaces it, and it opens again', async () => {
    const store = createMemoryStore();
    await new AgentRegistry(CONFIG, store, Date.now, silentLogger).register(AGENT, 'secret-one', undefined);
    const rekeyed = new AgentRegistry(OTHER_KEY, store, Date.now, silentLogger);
    expect(await rekeyed.register(AGENT, 'secret-one', undefined)).toEqual({ created: false, replaced: true });
    expect(await rekeyed.secret(AGENT)).toBe('secret-one');
    expect(await rekeyed.register(AGENT, 'secret-one', undefined)).toEqual({ created: false, replaced: false });
  });
});

describe('AgentRegistry records', () => {
  const KEY = 'agent:ww1:1000009';

  it('a damaged record is a configuration fault until registered again, which counts as a replacement', async () => {
    const store = createMemoryStore();
    const registry = new AgentRegistry(CONFIG, store, Date.now, silentLogger);
    await registry.register(AGENT, 'secret-one', 'remark');
    const sealed = JSON.parse((await store.getRecord(KEY, Date.now()))!);
    for (const damaged of [
      'not json',
      JSON.stringify({ ...sealed, secret: 7 }),
      JSON.stringify({ ...sealed, remark: 7 }),
      JSON.stringify({ ...sealed, createdAt: '1' }),
      JSON.stringify({ ...sealed, updatedAt: null }),
    ]) {
      await store.putRecord(KEY, damaged, Date.now() + 3600_000, Date.now());
      const fresh = new AgentRegistry(CONFIG, store, Date.now, silentLogger);
      await expect(fresh.secret(AGENT), damaged).rejects.toMatchObject({
        code: 'config_fault',
        message:
          'the registered agent record of WeCom agent ww1/1000009 is damaged; register it again (work.register_agent)',
      });
      expect(await fresh.register(AGENT, 'secret-one', undefined)).toEqual({ created: false, replaced: true });
      expect(await fresh.secret(AGENT)).toBe('secret-one');
    }
    await store.putRecord(KEY, JSON.stringify({ ...sealed, remark: undefined }), Date.now() + 3600_000, Date.now());
    expect(await new AgentRegistry(CONFIG, store, Date.now, silentLogger).secret(AGENT)).toBe('secret-one');
  });

  it('a registration keeps its first time; the same secret again is neither created nor replaced', async () => {
    let clock = 1_000_000;
    const store = createMemoryStore();
    const registry = new AgentRegistry(CONFIG, store, () => clock, silentLogger);
    expect(await registry.register(AGENT, 'secret-one', undefined)).toEqual({ created: true, replaced: false });
    clock += 5000;
    expect(await registry.register(AGENT, 'secret-one', 'now with a remark')).toEqual({
      created: false,
      replaced: false,
    });
    expect(JSON.parse((await store.getRecord(KEY, clock))!)).toMatchObject({
      createdAt: 1_000_000,
      updatedAt: 1_005_000,
      remark: 'now with a remark',
    });
    expect(await registry.register(AGENT, 'secret-two', undefined)).toEqual({ created: false, replaced: true });
  });

  it('lists registered agents once each in the order first registered; a known agent is found without a read', async () => {
    const counted = countStoreOps(createMemoryStore());
    const registry = new AgentRegistry(CONFIG, counted.store, Date.now, silentLogger);
    expect(await registry.registered()).toEqual([]);
    await registry.register({ corpid: 'ww2', agentid: '1000003' }, 's', undefined);
    await registry.register(AGENT, 's', undefined);
    await registry.register({ corpid: 'ww2', agentid: '1000003' }, 's2', undefined);
    expect(await registry.registered()).toEqual([{ corpid: 'ww2', agentid: '1000003' }, AGENT]);
    expect(await registry.find('ww9', '1000001')).toBeUndefined();
    counted.reset();
    expect(await registry.find(AGENT.corpid, AGENT.agentid)).toEqual(AGENT);
    expect(await registry.find(AGENT.corpid, AGENT.agentid)).toEqual(AGENT);
    expect(counted.ops()).toBe(0);
  });
});
