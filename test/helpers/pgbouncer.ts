import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './child-process';
import { pgTestUrl, withPgClient } from './postgres';
import { tempDir } from './temp-dir';

export interface PgBouncer {
  /** The test server's URL (same user, password and database) through the pooler. */
  readonly url: string;
  /** Stops the pooler and removes its folder. */
  stop(): Promise<void>;
}

/** Where Debian installs it (/usr/sbin is not on every user's PATH), else the PATH. */
function pgbouncerBinary(): string {
  if (existsSync('/usr/sbin/pgbouncer')) return '/usr/sbin/pgbouncer';
  const found = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  throw new Error(
    'pgbouncer is not installed, and the pooler tests need it: install it (`apt-get install -y pgbouncer` on Debian or Ubuntu) and run them again.',
  );
}

/** PgBouncer refuses to run as root: as root it runs as `postgres` (the user the test server runs as). */
function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => Number.parseInt(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout, 10);
  const ids = { uid: id('-u'), gid: id('-g') };
  if (Number.isNaN(ids.uid) || Number.isNaN(ids.gid))
    throw new Error('PgBouncer refuses to run as root and there is no `postgres` user to run it as: create one (`useradd postgres`).');
  return ids;
}

const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;

/**
 * Starts PgBouncer in transaction pooling mode in front of the test run's server, on a free port of
 * 127.0.0.1, with `poolSize` server connections per user and database. Clients log in with the test
 * server's user and password (md5; trust when the server URL has no password).
 */
export async function startPgBouncer({ poolSize = 4 }: { poolSize?: number } = {}): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  const ids = runAs();
  const server = new URL(pgTestUrl());
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const dir = tempDir('auto-migration-pgbouncer-');
  const port = await freePort();
  writeFileSync(dir.file('userlist.txt'), `${quote(user)} ${quote(password)}\n`, { mode: 0o600 });
  writeFileSync(
    dir.file('pgbouncer.ini'),
    [
      '[databases]',
      // Any database name, on the test server, with the client's own user and password.
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `auth_type = ${password ? 'md5' : 'trust'}`,
      `auth_file = ${dir.file('userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      `logfile = ${dir.file('pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  if (ids) {
    chmodSync(dir.path, 0o755);
    for (const file of [dir.path, dir.file('userlist.txt'), dir.file('pgbouncer.ini')]) chownSync(file, ids.uid, ids.gid);
  }
  const child = spawn(binary, [dir.file('pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'], ...ids });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolveExit) => child.on('close', () => resolveExit()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    dir.remove();
  };
  const url = new URL(server.toString());
  url.port = String(port);
  // Ready once a query goes through it to the server.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await withPgClient(url.toString(), (c) => c.query('SELECT 1'));
      return { url: url.toString(), stop };
    } catch (error) {
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`PgBouncer did not start on 127.0.0.1:${port} (${error instanceof Error ? error.message : String(error)}); its output:\n${output}`);
      }
    }
    await sleep(50);
  }
}
