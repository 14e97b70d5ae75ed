import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { HolderFile } from '../../src/auto-migration/driver/sqlite/holder-file';
import { tempDir } from '../helpers/temp-dir';

describe('HolderFile (the lock holder named beside the lock)', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => dir.remove());

  it('names the holder, and removes temporary files that holders which died mid-write left behind', () => {
    const path = dir.file('app.db.migration-lock.holder');
    writeFileSync(`${path}.99999.tmp`, '{"owner"');
    writeFileSync(dir.file('app.db.migration-lock.holder.notes.tmp'), 'not ours');
    const file = new HolderFile(path);

    expect(file.write({ host: hostname(), pid: process.pid, instanceId: 'abc' })).toBe(true);
    expect(file.read()).toEqual({ owner: { host: hostname(), pid: process.pid, instanceId: 'abc' }, since: expect.any(String) });
    expect(readdirSync(dir.path).sort()).toEqual(['app.db.migration-lock.holder', 'app.db.migration-lock.holder.notes.tmp']);
    file.remove();
    expect(existsSync(path)).toBe(false);
  });

  it('does not name a process of this host that is gone', () => {
    const path = dir.file('app.db.migration-lock.holder');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const file = new HolderFile(path);
    file.write({ host: hostname(), pid: Number(gone), instanceId: 'dead' });
    expect(file.read()).toBeNull();
  });
});
