import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../log/logger';
import { createMemoryStore } from '../store/memory';
import { VERIFY_TICKET_TTL_MS, VerifyTickets } from './component-ticket';

const C = 'wxc0c0c0c0c0c0c0c0';
const NOW = Date.UTC(2026, 0, 1);

describe('VerifyTickets', () => {
  it('keeps the ticket with the latest CreateTime, sealed', async () => {
    const store = createMemoryStore();
    const tickets = new VerifyTickets({ masterKey: randomBytes(32) }, store, silentLogger);
    expect(await tickets.save(C, 'ticket@@@two', NOW / 1000 + 2, NOW)).toBe(true);
    expect(await tickets.save(C, 'ticket@@@one', NOW / 1000 + 1, NOW)).toBe(false);
    expect(await tickets.save(C, 'ticket@@@two-again', NOW / 1000 + 2, NOW)).toBe(false);
    expect(await tickets.current(C, NOW)).toBe('ticket@@@two');
    expect(await store.getRecord(`component:${C}:verify_ticket`, NOW)).not.toContain('ticket@@@two');
  });

  it('refuses clearly when none was received, or the latest is older than 12 hours', async () => {
    const tickets = new VerifyTickets({ masterKey: randomBytes(32) }, createMemoryStore(), silentLogger);
    await expect(tickets.current(C, NOW)).rejects.toMatchObject({ code: 'no_pushed_ticket' });
    await tickets.save(C, 'ticket@@@x', NOW / 1000, NOW);
    await expect(tickets.current(C, NOW + VERIFY_TICKET_TTL_MS)).rejects.toThrow('more than 12 hours old');
  });

  it('needs WECRED_MASTER_KEY to keep a ticket', async () => {
    const tickets = new VerifyTickets({}, createMemoryStore(), silentLogger);
    await expect(tickets.save(C, 'ticket@@@x', NOW / 1000, NOW)).rejects.toMatchObject({
      code: 'config_fault',
      message: expect.stringContaining('WECRED_MASTER_KEY'),
    });
  });
});
