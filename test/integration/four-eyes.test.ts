/**
 * Four eyes on rules and lists, against the real PostgreSQL: a version is a request until a
 * different approver approves it, a rollback likewise, list changes likewise; the database
 * refuses the same shortcuts on its own (author = approver, activation without an approver,
 * changing a published version's rules or thresholds, rewriting a decided request); and the
 * CLI signs its user in (--user / FRAUD_USER and FRAUD_PASSWORD) instead of trusting a name.
 * Its own PostgreSQL schema, dropped at the end.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import rules, { lists } from '../../src/commands/rules.js';
import { listActions } from '../../src/identity/action-log.js';
import { UserStore } from '../../src/identity/users.js';
import { loadRulesetFiles } from '../../src/rules/load.js';
import { RuleApprovals } from '../../src/rules/pg-approvals.js';
import { FourEyesError, PgRulesetStore } from '../../src/rules/pg-store.js';
import type { RulesetDef } from '../../src/rules/types.js';
import { migrate } from '../../src/storage/migrate.js';
import { schemaUrl, stack, uniqueName } from '../helpers/stack.js';

const schema = uniqueName('it_foureyes').replace(/[^a-z0-9]/g, '_');
const url = schemaUrl(schema);
const admin = new pg.Pool({ connectionString: stack.postgresUrl, max: 1 });
const pool = new pg.Pool({ connectionString: url, max: 3 });
const store = new PgRulesetStore(pool);
const approvals = new RuleApprovals(store);
const defaults = loadRulesetFiles('config/rules');
const version = (v: string): RulesetDef => ({ ...defaults, version: v });
const PW = { ana: 'ana-password-123', bob: 'bob-password-123', cat: 'cat-password-123', dan: 'dan-password-123' };

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA ${schema}`);
  await migrate(pool);
  const users = new UserStore(pool);
  await users.add({ username: 'ana', roles: ['analyst'], password: PW.ana }, 'test');
  await users.add({ username: 'bob', roles: ['analyst', 'approver'], password: PW.bob }, 'test');
  await users.add({ username: 'cat', roles: ['approver'], password: PW.cat }, 'test');
  await users.add({ username: 'dan', roles: ['analyst'], password: PW.dan }, 'test');
});

afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
});

describe('four eyes in the rules store', () => {
  it('a published version is a pending request that only another approver activates', async () => {
    const meta = await store.publish(version('fe-1'), { author: 'ana', comment: 'first' });
    expect(meta.status).toBe('pending');
    expect(await store.activeVersion()).toBeNull();
    expect((await approvals.pending()).map((r) => [r.version, r.kind, r.requested_by])).toEqual([
      ['fe-1', 'publish', 'ana'],
    ]);
    // The author cannot approve (even were she an approver); an analyst without the role cannot either.
    await expect(approvals.approve('fe-1', { by: 'ana' })).rejects.toThrow(/ana does not have the approver role/);
    await expect(approvals.approve('fe-1', { by: 'dan' })).rejects.toThrow(/dan does not have the approver role/);
    await expect(approvals.approve('fe-1', { by: 'nobody' })).rejects.toThrow(/'nobody' is not an enabled user/);
    const a = await approvals.approve('fe-1', { by: 'bob', comment: 'looks right' });
    expect([a.version, a.previous, a.request.status, a.request.decided_by]).toEqual(['fe-1', null, 'approved', 'bob']);
    const m = (await store.meta('fe-1'))!;
    expect([m.status, m.author, m.approved_by, m.decision_comment]).toEqual(['active', 'ana', 'bob', 'looks right']);
    expect(await approvals.pending()).toEqual([]);
    const log = await listActions(pool, { subject: 'fe-1' });
    expect(log.map((e) => [e.actor, e.action])).toEqual([
      ['bob', 'ruleset.approve'],
      ['ana', 'ruleset.submit'],
    ]);
  });

  it('an approver cannot approve their own version; another approver can', async () => {
    await store.publish(version('fe-2'), { author: 'bob', comment: 'by an approver' });
    const err = await approvals.approve('fe-2', { by: 'bob' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FourEyesError);
    expect((err as Error).message).toBe('bob requested version fe-2: another approver must decide it (four eyes)');
    expect(await store.activeVersion()).toBe('fe-1');
    await approvals.approve('fe-2', { by: 'cat' });
    expect(await store.activeVersion()).toBe('fe-2');
    expect((await store.meta('fe-1'))!.status).toBe('retired');
  });

  it('a rejected version is closed for good; a reject needs its reason', async () => {
    await store.publish(version('fe-3'), { author: 'ana', comment: 'risky' });
    await expect(approvals.reject('fe-3', { by: 'bob' })).rejects.toThrow(/comment saying why/);
    await expect(approvals.reject('fe-3', { by: 'ana', comment: 'no' })).rejects.toThrow(/approver role/);
    const r = await approvals.reject('fe-3', { by: 'bob', comment: 'too broad' });
    expect([r.status, r.decided_by, r.decision_comment]).toEqual(['rejected', 'bob', 'too broad']);
    expect((await store.meta('fe-3'))!.status).toBe('rejected');
    await expect(approvals.approve('fe-3', { by: 'cat' })).rejects.toThrow(
      /no open request for fe-3 \(it is rejected\)/,
    );
    await expect(approvals.requestActivation('fe-3', { by: 'ana', comment: 'again' })).rejects.toThrow(/was rejected/);
    expect(await store.activeVersion()).toBe('fe-2');
    expect((await approvals.decided()).map((d) => [d.version, d.status])).toContainEqual(['fe-3', 'rejected']);
  });

  it('a rollback is requested by one person and approved by another', async () => {
    await expect(approvals.requestActivation('fe-2', { by: 'ana', comment: 'x' })).rejects.toThrow(
      /already the active ruleset/,
    );
    const req = await approvals.requestActivation('fe-1', { by: 'ana', comment: 'fe-2 misbehaves' });
    expect([req.kind, req.base_version]).toEqual(['activate', 'fe-2']);
    await expect(approvals.requestActivation('fe-1', { by: 'dan', comment: 'me too' })).rejects.toThrow(
      /already requested by ana/,
    );
    expect(await store.activeVersion()).toBe('fe-2');
    // bob approved fe-1 once; he may approve its rollback, which ana asked for. Ana may not.
    await expect(approvals.approve('fe-1', { by: 'ana' })).rejects.toThrow(/approver role/);
    const a = await approvals.approve('fe-1', { by: 'bob' });
    expect([a.version, a.previous]).toEqual(['fe-1', 'fe-2']);
    const h = (await store.activations(1))[0]!;
    expect([h.version, h.previous_version, h.requested_by, h.activated_by]).toEqual(['fe-1', 'fe-2', 'ana', 'bob']);
    // The first approval stays the version's approval.
    expect((await store.meta('fe-1'))!.approved_by).toBe('bob');
  });

  it('list changes are requests applied by another approver', async () => {
    const r = await approvals.requestListChange('block_card', 'tok_fe_1', 'add', { by: 'ana', comment: 'fraud ring' });
    expect(await store.lists()).toEqual({});
    await expect(approvals.approveListChange(r.id, { by: 'ana' })).rejects.toThrow(/approver role/);
    const self = await approvals.requestListChange('block_ip', '10.0.0.1', 'add', { by: 'bob' });
    await expect(approvals.approveListChange(self.id, { by: 'bob' })).rejects.toThrow(
      `bob requested list change ${self.id}: another approver must decide it (four eyes)`,
    );
    expect((await approvals.approveListChange(r.id, { by: 'bob' })).applied).toBe(true);
    expect(await store.listEntries('block_card')).toEqual([
      expect.objectContaining({ value: 'tok_fe_1', added_by: 'ana', approved_by: 'bob', comment: 'fraud ring' }),
    ]);
    await expect(approvals.approveListChange(r.id, { by: 'cat' })).rejects.toThrow(/was approved by bob already/);
    await expect(approvals.requestListChange('block_card', 'tok_fe_1', 'add', { by: 'dan' })).rejects.toThrow(
      /already in block_card/,
    );
    const rm = await approvals.requestListChange('block_card', 'tok_fe_1', 'remove', { by: 'dan' });
    await approvals.rejectListChange(rm.id, { by: 'cat', comment: 'still fraud' });
    expect((await store.lists()).block_card).toEqual(['tok_fe_1']);
    const changes = await pool.query('SELECT op, changed_by, approved_by, request_id FROM list_changes');
    expect(changes.rows).toEqual([{ op: 'add', changed_by: 'ana', approved_by: 'bob', request_id: String(r.id) }]);
    expect((await listActions(pool, { action: 'list.' })).map((e) => [e.actor, e.action])).toEqual([
      ['cat', 'list.reject'],
      ['dan', 'list.request'],
      ['bob', 'list.approve'],
      ['bob', 'list.request'],
      ['ana', 'list.request'],
    ]);
  });
});

describe('four eyes in the database itself', () => {
  it('refuses changes to a published version, an activation without an approver, and self-approval', async () => {
    await expect(pool.query(`UPDATE rules SET expression = 'true' WHERE ruleset_version = 'fe-1'`)).rejects.toThrow(
      /ruleset fe-1 is active: its rules are immutable \(UPDATE refused\)/,
    );
    await expect(pool.query(`DELETE FROM rules WHERE ruleset_version = 'fe-2'`)).rejects.toThrow(/immutable/);
    await expect(
      pool.query(
        `INSERT INTO rules (ruleset_version, id, expression, action, position) VALUES ('fe-1', 'sneaky', 'true', 'APPROVE', 99)`,
      ),
    ).rejects.toThrow(/immutable \(INSERT refused\)/);
    await expect(
      pool.query(`UPDATE rulesets SET thresholds = '{"review": 0.99, "decline": 1.0}' WHERE version = 'fe-2'`),
    ).rejects.toThrow(/thresholds and texts are immutable/);
    await expect(pool.query(`DELETE FROM rulesets WHERE version = 'fe-2'`)).rejects.toThrow(/cannot be deleted/);
    // A pending version made active behind the store's back: without an approver, or by its author.
    await store.publish(version('fe-4'), { author: 'ana', comment: 'sneak' });
    await expect(
      pool.query(
        `UPDATE rulesets SET status = CASE WHEN version = 'fe-4' THEN 'active' ELSE 'retired' END WHERE version IN ('fe-1', 'fe-4')`,
      ),
    ).rejects.toThrow(/cannot become active without an approver/);
    await expect(pool.query(`UPDATE rulesets SET approved_by = 'ana' WHERE version = 'fe-4'`)).rejects.toThrow(
      /rulesets_four_eyes/,
    );
    await expect(
      pool.query(
        `UPDATE ruleset_requests SET status = 'approved', decided_by = 'ana', decided_at = now() WHERE version = 'fe-4'`,
      ),
    ).rejects.toThrow(/ruleset_requests_four_eyes/);
    // A decided request is final.
    await expect(pool.query(`UPDATE ruleset_requests SET decided_by = 'cat' WHERE version = 'fe-3'`)).rejects.toThrow(
      /decided requests are final/,
    );
    await expect(
      pool.query(`INSERT INTO lists (name, value, added_by, approved_by) VALUES ('block_ip', '1.2.3.4', 'ana', 'ana')`),
    ).rejects.toThrow(/lists_four_eyes/);
    await expect(
      pool.query(`INSERT INTO lists (name, value, added_by) VALUES ('block_ip', '1.2.3.4', 'ana')`),
    ).rejects.toThrow(/lists_four_eyes/);
    expect(await store.activeVersion()).toBe('fe-1');
    expect((await store.meta('fe-4'))!.status).toBe('pending');
  });
});

describe('the CLI signs its user in', () => {
  const saved = { ...process.env };
  afterEach(() => {
    vi.restoreAllMocks();
    process.env = { ...saved };
  });
  const run = async (cmd: typeof rules, argv: string[], as?: { user: string; password: string }) => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((m: unknown) => void out.push(String(m)));
    vi.spyOn(console, 'error').mockImplementation((m: unknown) => void err.push(String(m)));
    process.env.FRAUD_POSTGRES_URL = url;
    delete process.env.FRAUD_USER;
    delete process.env.FRAUD_PASSWORD;
    if (as) {
      process.env.FRAUD_USER = as.user;
      process.env.FRAUD_PASSWORD = as.password;
    }
    const code = await cmd(argv);
    vi.restoreAllMocks();
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const ana = { user: 'ana', password: PW.ana };
  const bob = { user: 'bob', password: PW.bob };
  const publish = ['publish', 'config/rules', '--version', 'fe-cli', '--comment', 'via cli', '--max-us-per-event', '0'];

  it('refuses a change without a signed-in user, with a wrong password, or with a free-text --author', async () => {
    const none = await run(rules, publish);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/who is acting\? --user NAME \(or FRAUD_USER\) and the password in FRAUD_PASSWORD/);
    const author = await run(rules, [...publish, '--author', 'ana'], ana);
    expect(author.code).toBe(2);
    expect(author.err).toMatch(/--author is gone/);
    const wrong = await run(rules, publish, { user: 'ana', password: 'not-her-password' });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toBe('wrong username or password for ana');
    expect((await listActions(pool, { actor: 'ana', action: 'login.failed' }))[0]!.detail).toEqual({ via: 'cli' });
    expect(await store.meta('fe-cli')).toBeNull();
  });

  it('publish → pending; the author approving is refused; another approver activates it', async () => {
    const p = await run(rules, publish, ana);
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/published ruleset fe-cli \(12 rules\) by ana: via cli; pending approval/);
    expect(p.out).toMatch(/fraud-engine rules approve fe-cli/);
    const pending = await run(rules, ['pending']);
    expect(pending.out).toMatch(/fe-cli\s+publish\s+ana/);
    // --user names the user; the password still comes from FRAUD_PASSWORD.
    const self = await run(rules, ['approve', 'fe-cli', '--user', 'ana'], { user: 'bob', password: PW.ana });
    expect(self.code).toBe(1);
    expect(self.err).toBe('ana does not have the approver role');
    const ok = await run(rules, ['approve', 'fe-cli', '--comment', 'fine'], bob);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/approved request \d+ \(publish fe-cli, requested by ana\): fe-cli is active \(was fe-1\)/);
    expect(await store.activeVersion()).toBe('fe-cli');
    // The rollback: a request, then an approval by someone else.
    const rb = await run(rules, ['activate', 'fe-1', '--comment', 'back'], ana);
    expect(rb.code).toBe(0);
    expect(rb.out).toMatch(/requested activation of fe-1 .* active now: fe-cli/);
    expect(await store.activeVersion()).toBe('fe-cli');
    expect((await run(rules, ['approve', 'fe-1'], bob)).code).toBe(0);
    expect(await store.activeVersion()).toBe('fe-1');
    const history = await run(rules, ['history']);
    expect(history.out).toMatch(/fe-1\s+fe-cli\s+ana\s+bob\s+back/);
  });

  it('lists add is a request; lists approve by another approver applies it', async () => {
    const add = await run(lists, ['add', 'block_email', 'h_fe', '--comment', 'spam'], ana);
    expect(add.code).toBe(0);
    const id = /request (\d+)/.exec(add.out)![1]!;
    expect((await run(lists, ['pending'])).out).toMatch(new RegExp(`${id}\\s+add\\s+block_email\\s+h_fe\\s+ana`));
    const self = await run(lists, ['approve', id], ana);
    expect(self.code).toBe(1);
    expect(self.err).toMatch(/approver role/);
    expect((await store.lists()).block_email).toBeUndefined();
    const ok = await run(lists, ['approve', id], bob);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/approved request \d+ \(add h_fe to block_email, requested by ana\)/);
    expect((await store.lists()).block_email).toEqual(['h_fe']);
    expect((await run(lists, ['reject', id, '--comment', 'late'], bob)).err).toMatch(/was approved by bob already/);
  });
});
