/**
 * Private, throw-away service instances for fault tests, on free loopback ports and in a
 * temporary directory: a single-node KRaft Kafka broker (the jars scripts/stack resolved into
 * ~/.cache/fraud-engine), a redis-server and a PostgreSQL cluster. Fault tests stop, hang and
 * restart these; the shared stack (9092, 6379, 5432) is never touched. The transport-security
 * test runs them with TLS (certificates from scripts/stack.d/certs.sh, see makeCerts):
 * a SASL_SSL SCRAM-SHA-512 listener on the broker, `ssl=on` and hostssl-only on PostgreSQL.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const HOST = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, HOST, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const c = connect({ host: HOST, port });
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
    c.setTimeout(500, () => {
      c.destroy();
      res(false);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The files of scripts/stack.d/certs.sh: a CA, a server certificate for localhost/127.0.0.1, a client certificate. */
export interface TlsFiles {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  serverKeystore: string;
  clientCert: string;
  clientKey: string;
}

export function tlsFiles(dir: string): TlsFiles {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    serverKeystore: join(dir, 'server-keystore.pem'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
}

/** Generates throw-away certificates into `dir` (default: a new temporary directory) with the stack's own script. */
export function makeCerts(dir = mkdtempSync(join(tmpdir(), 'fe-tls-')), clientName = 'fraud'): TlsFiles {
  const r = spawnSync('bash', [join(ROOT, 'scripts/stack.d/certs.sh'), dir, clientName], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/stack.d/certs.sh failed: ${r.stderr}`);
  return tlsFiles(dir);
}

/** A password of letters and digits (safe inside kafka-storage's --add-scram syntax and in SQL). */
export function randomPassword(prefix = 'pw'): string {
  return `${prefix}${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
}

// Whatever happens to the test process, its private services go with it.
const children = new Set<ChildProcess>();
const clusters = new Set<() => void>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const stop of clusters) stop();
});
function track(p: ChildProcess): ChildProcess {
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}

async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean> | boolean,
  log?: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) {
      const tail = log && existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(`${what} did not come up within ${timeoutMs} ms${log ? ` (log ${log})\n${tail}` : ''}`);
    }
    await sleep(100);
  }
}

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once('exit', () => r()));
}

async function terminate(p: ChildProcess | null, graceMs: number): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  const done = await Promise.race([exited(p).then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    p.kill('SIGKILL');
    await exited(p);
  }
}

// ------------------------------------------------------------------------------- Kafka

export const KAFKA_HOME = join(
  process.env.FRAUD_STACK_CACHE ?? join(homedir(), '.cache/fraud-engine'),
  `kafka-${process.env.KAFKA_VERSION ?? '4.4.0'}`,
);

/** Makes sure the Kafka jars are there: runs scripts/stack's resolution only when they are missing. */
export function ensureKafkaJars(): void {
  if (existsSync(join(KAFKA_HOME, '.complete'))) return;
  // `scripts/stack up` resolves the jars (and is idempotent for the services already up).
  const r = spawnSync('bash', [join(ROOT, 'scripts/stack'), 'up'], { stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(join(KAFKA_HOME, '.complete')))
    throw new Error(`kafka jars missing in ${KAFKA_HOME}`);
}

/** A SASL_SSL listener with SCRAM-SHA-512 (clients: TLS, then SCRAM); PEM key and trust stores. */
export interface SaslSslListener {
  port: number;
  tls: TlsFiles;
  /** `required`: clients must present a certificate signed by the CA (mutual TLS) as well. */
  clientAuth: 'required' | 'requested' | 'none';
}

/**
 * The broker configuration of scripts/stack, for a private node on other ports. With
 * `saslSsl`, a second listener for clients; the controller and inter-broker listeners stay
 * PLAINTEXT on loopback.
 */
export function kafkaProperties(o: {
  port: number;
  controllerPort: number;
  dataDir: string;
  saslSsl?: SaslSslListener;
}): string {
  const l = o.saslSsl;
  const listeners = `PLAINTEXT://${HOST}:${o.port}${l ? `,SASL_SSL://${HOST}:${l.port}` : ''}`;
  const saslSsl = l
    ? `sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=${l.tls.serverKeystore}
listener.name.sasl_ssl.ssl.truststore.type=PEM
listener.name.sasl_ssl.ssl.truststore.location=${l.tls.ca}
listener.name.sasl_ssl.ssl.client.auth=${l.clientAuth}
listener.name.sasl_ssl.ssl.enabled.protocols=TLSv1.3,TLSv1.2
`
    : '';
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${HOST}:${o.controllerPort}
listeners=${listeners},CONTROLLER://${HOST}:${o.controllerPort}
advertised.listeners=${listeners}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${l ? ',SASL_SSL:SASL_SSL' : ''}
${saslSsl}log.dirs=${o.dataDir}
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Fault tests use short session timeouts so that a killed member is noticed quickly.
group.min.session.timeout.ms=1000
auto.create.topics.enable=false
log.segment.bytes=67108864
`;
}

export interface PrivateKafkaOptions {
  /**
   * A SASL_SSL listener (SCRAM-SHA-512) beside the PLAINTEXT one, its user created at format
   * time (`kafka-storage format --add-scram`); the PLAINTEXT listener stays for the broker's
   * own use (inter-broker).
   */
  saslSsl?: { tls: TlsFiles; username: string; password: string; clientAuth?: SaslSslListener['clientAuth'] };
}

export class PrivateKafka {
  private proc: ChildProcess | null = null;
  readonly log: string;
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly controllerPort: number,
    readonly saslSslPort: number | null,
  ) {
    this.log = join(dir, 'kafka.log');
  }

  /** The PLAINTEXT listener. */
  get brokers(): string {
    return `${HOST}:${this.port}`;
  }
  /** The SASL_SSL listener (started with `saslSsl`). */
  get saslSslBrokers(): string {
    if (this.saslSslPort === null) throw new Error('this private broker has no SASL_SSL listener');
    return `${HOST}:${this.saslSslPort}`;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Formats storage in a fresh temporary directory and starts the broker. */
  static async start(opts: PrivateKafkaOptions = {}): Promise<PrivateKafka> {
    ensureKafkaJars();
    const dir = mkdtempSync(join(tmpdir(), 'fe-kafka-'));
    const k = new PrivateKafka(dir, await freePort(), await freePort(), opts.saslSsl ? await freePort() : null);
    const props = join(dir, 'server.properties');
    const saslSsl = opts.saslSsl
      ? { port: k.saslSslPort!, tls: opts.saslSsl.tls, clientAuth: opts.saslSsl.clientAuth ?? 'none' }
      : undefined;
    writeFileSync(
      props,
      kafkaProperties({ port: k.port, controllerPort: k.controllerPort, dataDir: join(dir, 'data'), saslSsl }),
    );
    const java = (args: string[]) =>
      spawnSync(
        'java',
        [
          '-Xms64m',
          '-Xmx256m',
          '-cp',
          `${KAFKA_HOME}/libs/*`,
          `-Dlog4j2.configurationFile=${join(ROOT, 'scripts/stack.d/log4j2.properties')}`,
          ...args,
        ],
        { encoding: 'utf8' },
      );
    const id = java(['kafka.tools.StorageTool', 'random-uuid']);
    const clusterId = id.stdout.trim().split('\n').pop() ?? '';
    if (id.status !== 0 || !clusterId) throw new Error(`kafka random-uuid failed: ${id.stderr}`);
    const scram = opts.saslSsl
      ? ['--add-scram', `SCRAM-SHA-512=[name=${opts.saslSsl.username},password=${opts.saslSsl.password}]`]
      : [];
    const fmt = java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, ...scram]);
    // (Its output lists the SCRAM record: salted keys, not the password; shown only on failure.)
    if (fmt.status !== 0) throw new Error(`kafka storage format failed: ${fmt.stdout}\n${fmt.stderr}`);
    await k.startProcess();
    return k;
  }

  private async startProcess(): Promise<void> {
    const out = openSync(this.log, 'a');
    const startedAt = existsSync(this.log) ? readFileSync(this.log, 'utf8').length : 0;
    this.proc = track(
      spawn(
        'java',
        [
          '-Xms128m',
          '-Xmx384m',
          '-XX:+UseG1GC',
          '-XX:MaxGCPauseMillis=20',
          '-XX:TieredStopAtLevel=1',
          '-cp',
          `${KAFKA_HOME}/libs/*`,
          `-Dlog4j2.configurationFile=${join(ROOT, 'scripts/stack.d/log4j2.properties')}`,
          'kafka.Kafka',
          join(this.dir, 'server.properties'),
        ],
        { stdio: ['ignore', out, out] },
      ),
    );
    closeSync(out);
    const p = this.proc;
    await until(
      'private kafka',
      90_000,
      async () => {
        if (p.exitCode !== null) throw new Error(`private kafka exited (${p.exitCode}); log ${this.log}`);
        return (
          (await portOpen(this.port)) &&
          readFileSync(this.log, 'utf8').slice(startedAt).includes('Kafka Server started')
        );
      },
      this.log,
    );
  }

  /** Stops the broker (SIGTERM: controlled shutdown) keeping its data. */
  async stop(): Promise<void> {
    await terminate(this.proc, 30_000);
    this.proc = null;
  }

  /** Starts it again on the same ports and data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startProcess();
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------- Redis

export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly password: string,
    private readonly appendonly: boolean,
    readonly tls: boolean,
  ) {}

  get url(): string {
    return `${this.tls ? 'rediss' : 'redis'}://${HOST}:${this.port}`;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }
  /** With `tls`: the self-signed certificate clients must trust (NODE_EXTRA_CA_CERTS). */
  get caFile(): string {
    return join(this.dir, 'cert.pem');
  }

  /**
   * A redis-server with AUTH; `appendonly` keeps the data across a stop/start (a real outage,
   * not a wipe); `tls` serves TLS only, with a self-signed certificate for 127.0.0.1.
   */
  static async start(opts: { password?: string; appendonly?: boolean; tls?: boolean } = {}): Promise<PrivateRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'fe-redis-'));
    const password = opts.password ?? `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const r = new PrivateRedis(dir, await freePort(), password, opts.appendonly ?? true, opts.tls ?? false);
    if (r.tls) {
      const c = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          r.caFile,
          '-days',
          '1',
          '-subj',
          `/CN=${HOST}`,
          '-addext',
          `subjectAltName=IP:${HOST}`,
        ],
        { encoding: 'utf8' },
      );
      if (c.status !== 0) throw new Error(`openssl failed: ${c.stderr}`);
    }
    await r.startProcess();
    return r;
  }

  private async startProcess(): Promise<void> {
    const out = openSync(join(this.dir, 'redis.log'), 'a');
    const listen = this.tls
      ? [
          '--port',
          '0',
          '--tls-port',
          String(this.port),
          '--tls-cert-file',
          this.caFile,
          '--tls-key-file',
          join(this.dir, 'key.pem'),
          '--tls-auth-clients',
          'no',
        ]
      : ['--port', String(this.port)];
    this.proc = track(
      spawn(
        'redis-server',
        [
          '--bind',
          HOST,
          ...listen,
          '--save',
          '',
          '--dir',
          this.dir,
          '--appendonly',
          this.appendonly ? 'yes' : 'no',
          '--appendfsync',
          'everysec',
          '--requirepass',
          this.password,
        ],
        { stdio: ['ignore', out, out] },
      ),
    );
    closeSync(out);
    await until('private redis', 20_000, () => portOpen(this.port), join(this.dir, 'redis.log'));
  }

  /** The process is gone (connection refused) until start(). SIGTERM: redis writes its AOF. */
  async stop(): Promise<void> {
    await terminate(this.proc, 10_000);
    this.proc = null;
  }

  async start(): Promise<void> {
    if (!this.proc) await this.startProcess();
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  hang(): void {
    this.proc?.kill('SIGSTOP');
  }
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    this.resume();
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------- PostgreSQL

function pgBin(name: string): string {
  for (const d of [
    '/usr/local/bin',
    '/usr/lib/postgresql/17/bin',
    '/usr/lib/postgresql/16/bin',
    '/usr/lib/postgresql/15/bin',
  ]) {
    if (existsSync(join(d, name))) return join(d, name);
  }
  return name;
}

/**
 * A private PostgreSQL cluster (initdb under a temporary directory, run as the `postgres`
 * user when we are root) with a `fraud` role and database, password authentication over TCP.
 */
export class PrivatePostgres {
  private forget: () => void = () => undefined;
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly password: string,
  ) {}

  get url(): string {
    return `postgres://fraud:${this.password}@${HOST}:${this.port}/fraud`;
  }
  private get data(): string {
    return join(this.dir, 'data');
  }

  private static run(args: string[], input?: string): string {
    const asRoot = process.getuid?.() === 0;
    const r = asRoot
      ? spawnSync(
          'su',
          ['postgres', '-s', '/bin/sh', '-c', args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')],
          { encoding: 'utf8', input },
        )
      : spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', input });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /**
   * `tls`: `ssl=on` with the server certificate of `tls` and its CA for client certificates,
   * TCP connections without TLS rejected by pg_hba (`hostnossl ... reject`); `clientCert`:
   * `clientcert=verify-full` as well (a certificate whose CN is the role's name).
   */
  static async start(opts: { tls?: TlsFiles; clientCert?: boolean } = {}): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'fe-pg-'));
    chmodSync(dir, 0o755);
    if (process.getuid?.() === 0) {
      const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
    }
    const p = new PrivatePostgres(dir, await freePort(), `pgpw${Math.random().toString(36).slice(2)}`);
    const kill = () => {
      try {
        PrivatePostgres.run([pgBin('pg_ctl'), '-D', p.data, '-m', 'immediate', 'stop']);
      } catch {
        /* not running */
      }
      rmSync(dir, { recursive: true, force: true });
    };
    clusters.add(kill);
    p.forget = () => clusters.delete(kill);
    PrivatePostgres.run([pgBin('initdb'), '-D', p.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    // Local socket: trust (administration); TCP: password (with TLS: TLS and password, maybe a certificate too).
    const hba = opts.tls
      ? `local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256${opts.clientCert ? ' clientcert=verify-full' : ''}\nhostnossl all all 127.0.0.1/32 reject\n`
      : 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n';
    PrivatePostgres.run(['sh', '-c', `cat > '${join(p.data, 'pg_hba.conf')}'`], hba);
    if (opts.tls) {
      // The server's copies, owned by the server's user; the key readable by it only.
      for (const [from, to] of [
        [opts.tls.serverCert, 'server.crt'],
        [opts.tls.serverKey, 'server.key'],
        [opts.tls.ca, 'root.crt'],
      ] as const) {
        PrivatePostgres.run(['sh', '-c', `umask 077 && cat > '${join(p.data, to)}'`], readFileSync(from, 'utf8'));
      }
      PrivatePostgres.run(
        ['sh', '-c', `cat >> '${join(p.data, 'postgresql.conf')}'`],
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\n",
      );
    }
    await p.start();
    PrivatePostgres.run([
      pgBin('psql'),
      '-v',
      'ON_ERROR_STOP=1',
      '-qtA',
      '-h',
      dir,
      '-p',
      String(p.port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      `CREATE ROLE fraud LOGIN PASSWORD '${p.password}'`,
      '-c',
      'CREATE DATABASE fraud OWNER fraud',
    ]);
    return p;
  }

  async start(): Promise<void> {
    PrivatePostgres.run([
      pgBin('pg_ctl'),
      '-D',
      this.data,
      '-l',
      join(this.dir, 'pg.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=${HOST} -c fsync=off -c shared_buffers=16MB -c max_connections=30`,
      'start',
    ]);
    await until('private postgres', 30_000, () => portOpen(this.port), join(this.dir, 'pg.log'));
  }

  /** `immediate`: connections are cut at once (a crash); `fast`: a clean shutdown. */
  async stop(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    try {
      PrivatePostgres.run([pgBin('pg_ctl'), '-D', this.data, '-m', mode, '-w', 'stop']);
    } catch {
      /* already down */
    }
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
    this.forget();
  }
}
