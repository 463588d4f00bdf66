import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger.js';
import { containsPan } from '../../src/security/pan.js';

/** A logger writing into an array of parsed JSON lines. */
function capture(level = 'debug'): {
  log: ReturnType<typeof createLogger>;
  lines: string[];
  parsed: () => Record<string, unknown>[];
} {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(l);
      cb();
    },
  });
  const log = createLogger(level, 'test', stream);
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const PANS = [
  '4111111111111111',
  '5555555555554444',
  '378282246310005',
  '4012888888881881',
  '6011111111111117',
  '3530111333300000',
];

/** No card number in the output, however it was written (separators stripped). */
function expectNoPan(lines: string[]): void {
  for (const line of lines) {
    expect(containsPan(line), line).toBe(false);
    const digitsOnly = line.replace(/[\s./-]/g, '');
    for (const p of PANS) expect(digitsOnly, line).not.toContain(p);
  }
}

describe('logger: no card number in any line', () => {
  it('masks nested objects 3+ deep, arrays, keys, the message and its parameters, and keeps the rest', () => {
    const { log, lines, parsed } = capture();
    log.info(
      {
        auth: 'e3b1a706-8430-4952-8393-47c1d2e3f4a5',
        at: '2026-12-01T03:46:54.123Z',
        a: { b: { c: { note: 'card 4111 1111 1111 1111 on file', amount: '1,234.50' } } },
        list: ['ok', '5555-5555-5555-4444', { deep: ['ref378282246310005x'] }],
        ['4012888888881881']: 'a key that is a card number',
        n: 6011111111111117,
        count: 3,
      },
      'card %s declined (%d)',
      '3530 1113 3330 0000',
      4111111111111111,
    );
    log.warn('card 4111.1111.1111.1111 and 5555  5555  5555  4444 and qty 12 4012888888881881 declined');
    expect(lines).toHaveLength(2);
    expectNoPan(lines);
    const [first, second] = parsed();
    expect(first).toMatchObject({
      auth: 'e3b1a706-8430-4952-8393-47c1d2e3f4a5',
      at: '2026-12-01T03:46:54.123Z',
      a: { b: { c: { note: 'card [PAN] on file', amount: '1,234.50' } } },
      list: ['ok', '[PAN]', { deep: ['ref[PAN]x'] }],
      '[PAN]': 'a key that is a card number',
      n: '[PAN]',
      count: 3,
      msg: 'card [PAN] declined ([PAN])', // %d of a number that is a card number
      name: 'test',
    });
    expect(typeof first!.time).toBe('number');
    expect(second!.msg).toBe('card [PAN] and [PAN] and qty 12 [PAN] declined');
  });

  it("keeps an Error's type, message and stack (masked), logged as { err }, alone, or with a cause", () => {
    const { log, lines, parsed } = capture();
    const err = Object.assign(new RangeError('card 4111-1111-1111-1111 refused'), { code: 'E_PAN' });
    log.error({ err, ctx: { inner: { e: new Error('nested 5555555555554444') } } }, 'failed');
    log.error({ err });
    log.error(err);
    log.error(new Error('outer', { cause: new Error('inner 378282246310005') }), 'with cause');
    expectNoPan(lines);
    const [withMsg, noMsg, alone, caused] = parsed();
    expect(withMsg!.msg).toBe('failed');
    expect(withMsg!.err).toMatchObject({ type: 'RangeError', message: 'card [PAN] refused', code: 'E_PAN' });
    expect((withMsg!.err as { stack: string }).stack).toMatch(/^RangeError: card \[PAN\] refused\n\s+at /);
    expect(withMsg!.ctx).toMatchObject({ inner: { e: { type: 'Error', message: 'nested [PAN]' } } });
    expect(noMsg!.msg).toBe('card [PAN] refused');
    expect(noMsg!.err).toMatchObject({ type: 'RangeError', message: 'card [PAN] refused' });
    expect(alone!.msg).toBe('card [PAN] refused');
    expect(alone!.err).toMatchObject({ type: 'RangeError', message: 'card [PAN] refused', code: 'E_PAN' });
    expect((alone!.err as { stack: string }).stack).toContain('RangeError: card [PAN] refused');
    expect(caused!.err).toMatchObject({ message: 'outer: inner [PAN]' });
    expect((caused!.err as { stack: string }).stack).toContain('caused by: Error: inner [PAN]');
  });

  it('masks objects given as format parameters', () => {
    const { log, lines, parsed } = capture();
    log.info('event %j / %o', { card: '4111111111111111', ok: 1 }, ['5555 5555 5555 4444']);
    expectNoPan(lines);
    expect(parsed()[0]!.msg).toBe('event {"card":"[PAN]","ok":1} / ["[PAN]"]');
  });

  it('masks child bindings, survives cycles, and still redacts secrets by path', () => {
    const { log, lines, parsed } = capture();
    const cyclic: Record<string, unknown> = { name: 'x 4111111111111111' };
    cyclic.self = cyclic;
    const child = log.child({ ref: 'tok4111111111111111', component: 'kafkajs' });
    child.info({ cyclic, password: 'hunter2', cfg: { url: 'redis://u:p@h' } }, 'child');
    const grandchild = child.child({ deeper: ['6011-1111-1111-1117'] });
    grandchild.setBindings({ later: 'x 3530111333300000' });
    grandchild.info('grandchild');
    expectNoPan(lines);
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(parsed()[0]).toMatchObject({
      ref: 'tok[PAN]',
      component: 'kafkajs',
      cyclic: { name: 'x [PAN]', self: '[Circular]' },
      password: '[redacted]',
      cfg: { url: '[redacted]' },
      msg: 'child',
    });
    expect(parsed()[1]).toMatchObject({ ref: 'tok[PAN]', deeper: ['[PAN]'], later: 'x [PAN]', msg: 'grandchild' });
  });

  it('honours the level', () => {
    const { log, lines } = capture('warn');
    log.info('card 4111111111111111');
    log.warn('shown');
    expect(lines).toHaveLength(1);
  });
});
