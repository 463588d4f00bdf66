/**
 * Four eyes for tests that need a ruleset in force or a list value: two users (an author and an
 * approver, created in the test's database) and the library's publish → approve path, so no
 * test activates a version any other way than production does.
 */
import type pg from 'pg';
import { UserStore } from '../../src/identity/users.js';
import { RuleApprovals, type Approved } from '../../src/rules/pg-approvals.js';
import type { PgRulesetStore, RulesetMeta } from '../../src/rules/pg-store.js';
import type { RulesetDef } from '../../src/rules/types.js';

export interface FourEyes {
  /** An analyst who proposes. */
  author: string;
  /** An approver who approves. */
  approver: string;
  approvals: RuleApprovals;
  /** Publishes `def` (as `version` when given) and has the approver approve it: the version is active. */
  publishActive(def: RulesetDef, o?: { version?: string; comment?: string }): Promise<RulesetMeta>;
  /** An older version requested by the author and approved: the rollback. */
  rollback(version: string, comment?: string): Promise<Approved>;
  /** A list change requested by the author and approved. */
  listChange(name: string, value: string, op: 'add' | 'remove'): Promise<boolean>;
}

/** Users `<prefix>-author` and `<prefix>-approver` (created, or reset when they exist) and the helpers. */
export async function fourEyes(pool: pg.Pool, store: PgRulesetStore, prefix = 'it'): Promise<FourEyes> {
  const users = new UserStore(pool);
  const author = `${prefix}-author`;
  const approver = `${prefix}-approver`;
  await users.add({ username: author, roles: ['analyst'] }, 'test', { replace: true });
  await users.add({ username: approver, roles: ['analyst', 'approver'] }, 'test', { replace: true });
  const approvals = new RuleApprovals(store);
  return {
    author,
    approver,
    approvals,
    async publishActive(def, o = {}) {
      const meta = await store.publish(def, { author, comment: o.comment ?? 'test', version: o.version });
      await approvals.approve(meta.version, { by: approver });
      return (await store.meta(meta.version))!;
    },
    rollback: async (version, comment = 'test rollback') => {
      await approvals.requestActivation(version, { by: author, comment });
      return approvals.approve(version, { by: approver });
    },
    async listChange(name, value, op) {
      const r = await approvals.requestListChange(name, value, op, { by: author, comment: 'test' });
      return (await approvals.approveListChange(r.id, { by: approver })).applied;
    },
  };
}
