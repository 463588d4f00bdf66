/**
 * The TLS options of each service's clients from the configuration: the CA, client certificate
 * and key files it names, read and parsed once, so that every client of a service gets the same
 * options and a missing or bad file is refused naming its key.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { EngineConfig } from './config.js';
import { ConfigError } from './errors.js';

function readPem(key: string, path: string, kind: 'certificate' | 'key'): Buffer | undefined {
  if (!path) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new ConfigError(
      key,
      `cannot read '${path}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  try {
    if (kind === 'certificate') new X509Certificate(pem);
    else createPrivateKey(pem);
  } catch {
    // The parser's message is not echoed: for a key it could quote the file.
    throw new ConfigError(
      key,
      `'${path}' is not a PEM ${kind === 'certificate' ? 'certificate' : 'private key (unencrypted)'}`,
    );
  }
  return pem;
}

const asIs = (k: string): string => k;

function material(
  name: (key: string) => string,
  section: string,
  keys: { ca: string; cert: string; key: string },
  files: { ca: string; cert: string; key: string },
): ConnectionOptions {
  const ca = readPem(name(`${section}.${keys.ca}`), files.ca, 'certificate');
  const cert = readPem(name(`${section}.${keys.cert}`), files.cert, 'certificate');
  const key = readPem(name(`${section}.${keys.key}`), files.key, 'key');
  return { ...(ca ? { ca: [ca] } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/**
 * The TLS options of the Kafka clients (undefined: plaintext). A CA file replaces the
 * system's trusted CAs for the broker's certificate; without one, the system's plus
 * NODE_EXTRA_CA_CERTS.
 */
export function kafkaTlsOptions(
  k: EngineConfig['kafka'],
  name: (key: string) => string = asIs,
): ConnectionOptions | undefined {
  if (!k.ssl) return undefined;
  return {
    rejectUnauthorized: k.ssl_reject_unauthorized,
    ...material(
      name,
      'kafka',
      { ca: 'ssl_ca_file', cert: 'ssl_cert_file', key: 'ssl_key_file' },
      { ca: k.ssl_ca_file, cert: k.ssl_cert_file, key: k.ssl_key_file },
    ),
  };
}

/** The TLS options of every PostgreSQL connection (undefined: as the URL says). The server's certificate is always verified. */
export function postgresTlsOptions(
  p: EngineConfig['postgres'],
  name: (key: string) => string = asIs,
): ConnectionOptions | undefined {
  if (!p.ssl) return undefined;
  return {
    rejectUnauthorized: true,
    ...material(
      name,
      'postgres',
      { ca: 'ssl_ca_file', cert: 'ssl_cert_file', key: 'ssl_key_file' },
      { ca: p.ssl_ca_file, cert: p.ssl_cert_file, key: p.ssl_key_file },
    ),
  };
}

/** ioredis's `tls` option for a rediss:// URL with a private CA (undefined: ioredis's default for the URL). */
export function redisTlsOptions(
  r: EngineConfig['redis'],
  name: (key: string) => string = asIs,
): ConnectionOptions | undefined {
  const ca = readPem(name('redis.tls_ca_file'), r.tls_ca_file, 'certificate');
  return ca ? { ca: [ca] } : undefined;
}
