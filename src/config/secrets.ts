/**
 * Secrets in the configuration: which keys hold one, and the refusal of a secret written in the
 * file (committed, copied into images and config maps) rather than set in the environment.
 */

/**
 * Keys whose value is a secret: refused in the file (which is committed, copied into images
 * and config maps), accepted from the environment. `url`: a secret only when the URL has a
 * password (userinfo or a `password` parameter).
 */
const SECRETS: Record<string, 'value' | 'url'> = {
  'kafka.sasl_password': 'value',
  'schema_registry.password': 'value',
  'schema_registry.url': 'url',
  'redis.password': 'value',
  'redis.url': 'url',
  'postgres.url': 'url',
  'console.oidc_client_secret': 'value',
};

function holdsSecret(kind: 'value' | 'url', raw: unknown): boolean {
  if (raw === null || raw === undefined || typeof raw === 'object') return false;
  const s = String(raw).trim();
  if (kind === 'value' || s === '') return s !== '';
  try {
    const u = new URL(s);
    return u.password !== '' || u.searchParams.has('password');
  } catch {
    return /\/\/[^/@:]*:[^/@]+@/.test(s); // unparseable, yet //user:password@ shaped: refuse rather than guess
  }
}

/** Why the file's value of `section.key` is refused (a secret, or a URL with a password), or null when it is not. */
export function secretInFile(section: string, key: string, value: unknown, file: string): string | null {
  const secret = SECRETS[`${section}.${key}`];
  if (!secret || !holdsSecret(secret, value)) return null;
  const envName = `FRAUD_${section}_${key}`.toUpperCase();
  return (
    `${secret === 'url' ? 'a URL with a password' : 'a secret'} is refused in the configuration file ${file}; ` +
    `set it in the environment as ${envName}${secret === 'url' && section === 'redis' ? ' (or the password alone as FRAUD_REDIS_PASSWORD)' : ''} and leave the file's value empty`
  );
}
