import type { MigrationDefinition } from '../../src/auto-migration/discovery/migration-definition';
import { planBatches } from '../../src/auto-migration/runner/batch-plan';

function def(name: string, transaction = true, foreignKeys: 'check' | 'enforce' = 'check'): MigrationDefinition {
  return {
    name,
    version: '1.0.0',
    description: '',
    transaction,
    foreignKeys,
    checksum: name,
    sourceHash: null,
    storedSourceHash: null,
    className: name,
    instance: () => ({ up: () => undefined }),
  };
}

const shape = (batches: ReturnType<typeof planBatches>) => batches.map((b) => ({ transactional: b.transactional, names: b.migrations.map((m) => m.name) }));

describe('planBatches', () => {
  it('returns no batches for nothing pending', () => {
    expect(planBatches([], 'each')).toEqual([]);
    expect(planBatches([], 'all')).toEqual([]);
  });

  describe("'each'", () => {
    it('puts every migration in its own batch, in order', () => {
      expect(shape(planBatches([def('001'), def('002'), def('003')], 'each'))).toEqual([
        { transactional: true, names: ['001'] },
        { transactional: true, names: ['002'] },
        { transactional: true, names: ['003'] },
      ]);
    });

    it('marks a transaction:false migration as non-transactional', () => {
      expect(shape(planBatches([def('001'), def('002', false), def('003')], 'each'))).toEqual([
        { transactional: true, names: ['001'] },
        { transactional: false, names: ['002'] },
        { transactional: true, names: ['003'] },
      ]);
    });
  });

  describe("'all'", () => {
    it('puts consecutive transactional migrations in one batch', () => {
      expect(shape(planBatches([def('001'), def('002'), def('003')], 'all'))).toEqual([{ transactional: true, names: ['001', '002', '003'] }]);
    });

    it('a transaction:false migration splits the batch and runs alone', () => {
      expect(shape(planBatches([def('001'), def('002'), def('003', false), def('004'), def('005')], 'all'))).toEqual([
        { transactional: true, names: ['001', '002'] },
        { transactional: false, names: ['003'] },
        { transactional: true, names: ['004', '005'] },
      ]);
    });

    it('consecutive transaction:false migrations each run alone', () => {
      expect(shape(planBatches([def('001', false), def('002', false), def('003')], 'all'))).toEqual([
        { transactional: false, names: ['001'] },
        { transactional: false, names: ['002'] },
        { transactional: true, names: ['003'] },
      ]);
    });

    it('a transaction:false migration at the end', () => {
      expect(shape(planBatches([def('001'), def('002', false)], 'all'))).toEqual([
        { transactional: true, names: ['001'] },
        { transactional: false, names: ['002'] },
      ]);
    });
  });

  it('keeps every migration exactly once and the same objects', () => {
    const pending = [def('001'), def('002', false), def('003'), def('004')];
    for (const mode of ['each', 'all'] as const) {
      const flat = planBatches(pending, mode).flatMap((b) => b.migrations);
      expect(flat).toHaveLength(pending.length);
      flat.forEach((m, i) => expect(m).toBe(pending[i]));
    }
  });

  it('does not modify its input', () => {
    const pending = [def('001'), def('002')];
    const copy = [...pending];
    planBatches(pending, 'all');
    expect(pending).toEqual(copy);
  });
});

describe('planBatches and foreign-key modes', () => {
  it("starts a new 'all' batch when the foreignKeys mode changes", () => {
    const batches = planBatches([def('001_a'), def('002_b', true, 'enforce'), def('003_c', true, 'enforce'), def('004_d')], 'all');
    expect(batches.map((b) => b.migrations.map((m) => m.name))).toEqual([['001_a'], ['002_b', '003_c'], ['004_d']]);
  });
});
