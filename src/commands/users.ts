/** `fraud-engine users add | list | disable`: the people of the console and the rules tooling. */
import { userInfo } from 'node:os';
import { configOf, guarded, parseOrUsage, UsageError } from '../cli/kit.js';
import { IdentityError, ROLES, UserStore, type Role } from '../identity/users.js';
import { pgPool } from '../storage/pool.js';

const HELP = `usage: fraud-engine users add NAME --roles analyst[,approver,admin] [--display-name TEXT] [--replace] [--oidc-only]
       fraud-engine users list
       fraud-engine users disable NAME
The password of 'add' comes from the environment variable FRAUD_USER_PASSWORD (at least 12
characters), never from the command line; --oidc-only adds a user without a password, who signs in
through the configured OpenID provider only. --replace resets an existing user's roles and password.
Roles: analyst (review queue, drafts), approver (approves what someone else submitted), admin (all).`;

export default function users(argv: string[]): Promise<number> {
  return guarded(
    async () => {
      const { values, positionals } = parseOrUsage(
        argv,
        {
          config: { type: 'string' },
          roles: { type: 'string' },
          'display-name': { type: 'string' },
          replace: { type: 'boolean' },
          'oidc-only': { type: 'boolean' },
        },
        HELP,
        { positionals: true },
      );
      const [verb, name] = positionals;
      if (!verb || (verb !== 'list' && !name)) throw new UsageError(HELP);
      const cfg = configOf(values.config);
      if (!cfg.postgres.url) throw new UsageError('users: set FRAUD_POSTGRES_URL');
      const pool = pgPool(cfg.postgres, { applicationName: 'fraud-users', max: 1, connectionTimeoutMillis: 5_000 });
      const store = new UserStore(pool);
      const by = `os:${userInfo().username}`;
      try {
        if (verb === 'list') {
          for (const u of await store.list())
            console.log(
              `${u.username}\t${u.roles.join(',')}\t${u.disabled ? 'disabled' : 'enabled'}\t${u.displayName}`,
            );
        } else if (verb === 'add') {
          const roles = (values.roles ?? '').split(',').filter(Boolean) as Role[];
          if (!roles.length) throw new UsageError(`users add: --roles is required (${ROLES.join(', ')})\n\n${HELP}`);
          const password = values['oidc-only'] ? undefined : process.env.FRAUD_USER_PASSWORD;
          if (!password && !values['oidc-only'])
            throw new UsageError('users add: set the password in FRAUD_USER_PASSWORD (or --oidc-only)');
          const u = await store.add({ username: name!, roles, password, displayName: values['display-name'] }, by, {
            replace: values.replace,
          });
          console.error(`user ${u.username} (${u.roles.join(', ')}) ${values.replace ? 'set' : 'added'}`);
        } else if (verb === 'disable') {
          await store.disable(name!, by);
          console.error(`user ${name} disabled; their sessions ended`);
        } else throw new UsageError(HELP);
        return 0;
      } finally {
        await pool.end();
      }
    },
    (err) => {
      if (!(err instanceof IdentityError)) return undefined;
      console.error(`users: ${err.message}`);
      return 1;
    },
  );
}
