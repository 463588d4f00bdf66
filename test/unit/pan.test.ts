import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  bufferContainsPan,
  containsPan,
  findPans,
  identifierHasPan,
  luhnOk,
  maskPans,
} from '../../src/security/pan.js';
import { maskDeep } from '../../src/security/mask-deep.js';

/** Luhn-valid numbers of the major networks (public test numbers or computed check digits). */
const PANS = {
  visa13: '4222222222222',
  visa16: '4111111111111111',
  visa16b: '4012888888881881',
  visa19: '4000000000000000006',
  mc51: '5105105105105100',
  mc52: '5200828282828210',
  mc53: '5300000000000006',
  mc54: '5454545454545454',
  mc55: '5555555555554444',
  mc2221: '2221000000000009',
  mc2223: '2223003122003222',
  mc2720: '2720992720992729',
  amex34: '340000000000009',
  amex37: '378282246310005',
  amex37b: '371449635398431',
  discover6011: '6011111111111117',
  discover6011b: '6011000990139424',
  discover644: '6445644564456445',
  discover65: '6500000000000002',
  discover19: '6500000000000000003',
  jcb: '3530111333300000',
  jcb2: '3566002020360505',
  jcb19: '3589000000000000009',
  diners14: '30569309025904',
  diners38: '38520000023237',
  diners36: '36227206271667',
  unionpay16: '6200000000000005',
  unionpay16b: '6250941006528599',
  unionpay19: '6220000000000000008',
  maestro16: '6759649826438453',
  maestro19: '6799990100000000019',
  maestro5018: '5018000000000009',
  mir: '2200000000000004',
  uatp: '135410014004955',
} as const;

const groups = (pan: string, sizes: number[], sep: string): string => {
  const out: string[] = [];
  let i = 0;
  for (const n of sizes) {
    out.push(pan.slice(i, i + n));
    i += n;
  }
  if (i < pan.length) out.push(pan.slice(i));
  return out.join(sep);
};
const by4 = (pan: string, sep: string): string =>
  groups(pan, Array(Math.ceil(pan.length / 4)).fill(4) as number[], sep);

/** [label, text, the PAN as written in it]. Each MUST be found, and masked away. */
const MUST_FIND: [string, string, string][] = [
  // Every network, plain, alone and in a sentence.
  ...Object.entries(PANS).map(([k, p]): [string, string, string] => [`${k} plain`, p, p]),
  ...Object.entries(PANS).map(([k, p]): [string, string, string] => [`${k} in text`, `card ${p} declined`, p]),
  // Separators.
  ['spaced', 'card 4111 1111 1111 1111 declined', '4111 1111 1111 1111'],
  ['double-spaced', 'card 4111  1111  1111  1111 declined', '4111  1111  1111  1111'],
  ['dashed', 'card 5500-0000-0000-0004.', '5500-0000-0000-0004'],
  ['dotted', '4111.1111.1111.1111', '4111.1111.1111.1111'],
  ['slashed', 'pan=5555/5555/5555/4444', '5555/5555/5555/4444'],
  ['tabbed', 'pan\t4111\t1111\t1111\t1111\tend', '4111\t1111\t1111\t1111'],
  ['mixed separators', 'x 4111-1111 1111.1111 y', '4111-1111 1111.1111'],
  ['dash and space', '4111 -1111- 1111 -1111', '4111 -1111- 1111 -1111'],
  ['amex 4-6-5', 'amex 3782 822463 10005', '3782 822463 10005'],
  ['amex 4-6-5 dashed', 'amex 3714-496353-98431', '3714-496353-98431'],
  ['diners 4-6-4', '3056 930902 5904', '3056 930902 5904'],
  ['visa 19 by 4', by4(PANS.visa19, ' '), by4(PANS.visa19, ' ')],
  ['unionpay 19 6-13', groups(PANS.unionpay19, [6], ' '), groups(PANS.unionpay19, [6], ' ')],
  ['maestro 19 by 4 dashed', by4(PANS.maestro19, '-'), by4(PANS.maestro19, '-')],
  ['mastercard 2-series spaced', by4(PANS.mc2720, ' '), by4(PANS.mc2720, ' ')],
  // Glued to letters or underscores.
  ['glued both sides', 'ref4111111111111111x', '4111111111111111'],
  ['glued after letters', 'tok_5555555555554444', '5555555555554444'],
  ['glued before letters', '378282246310005abc', '378282246310005'],
  ['glued camel case', 'cardNumber6011111111111117End', '6011111111111117'],
  // A digit group right before (the whole run fails Luhn, the card-sized window passes).
  ['after a digit group', 'qty 12 4111111111111111', '4111111111111111'],
  ['after a spaced digit group', 'qty 12 4111 1111 1111 1111', '4111 1111 1111 1111'],
  ['after a digit', '7 5555555555554444', '5555555555554444'],
  ['before a digit group', '4111111111111111 12', '4111111111111111'],
  ['after an epoch', '1795616763003 4111111111111111', '4111111111111111'],
  ['glued to an epoch', '17956167630034111111111111111', '4111111111111111'],
  ['twice', '4111111111111111 and 5555555555554444', '5555555555554444'],
  // Structured text.
  ['JSON string', '{"pan":"4111111111111111","amount":1250}', '4111111111111111'],
  ['JSON number', '{"n":4111111111111111}', '4111111111111111'],
  ['JSON nested', '{"a":{"b":[{"c":"x 3530 1113 3330 0000"}]}}', '3530 1113 3330 0000'],
  ['URL query', 'https://pay.example/checkout?card=4111111111111111&cvv=123', '4111111111111111'],
  ['URL path', 'GET /cards/5555-5555-5555-4444/status', '5555-5555-5555-4444'],
  ['key=value', 'pan=4012888888881881;exp=12/27', '4012888888881881'],
  ['CSV', 'a,b,4111111111111111,c', '4111111111111111'],
  ['next to a UUID', '7d0c8f2e-0a06-4952-8393-47c1d2e3f4a5 4111111111111111', '4111111111111111'],
  ['next to an ISO date', '2026-12-01 4111111111111111', '4111111111111111'],
  ['inside parentheses', '(4111 1111 1111 1111)', '4111 1111 1111 1111'],
];

/** Text and why it is not a card number. None may be flagged. */
const MUST_NOT_FIND: [string, string][] = [
  // UUIDs: the middle groups `706-8430-4952-8393-47` alone do pass (see below).
  ['uuid', 'e3b1a706-8430-4952-8393-47c1d2e3f4a5'],
  ['kafkajs member id', 'fraud-engine-8f2a0a06-8430-4952-8393-47c1d2e3f4a5'],
  ['uuid upper case', 'E3B1A706-8430-4952-8393-47C1D2E3F4A5'],
  ['uuid in JSON', '{"memberId":"fraud-engine-e3b1a706-8430-4952-8393-47c1d2e3f4a5","x":12}'],
  // Timestamps: epoch-ms are 13 digits starting with 1 (this one passes Luhn).
  ['epoch ms (Luhn-valid)', '1795616763003'],
  ['epoch ms in JSON', '{"level":30,"time":1795616763003,"msg":"ok"}'],
  ['epoch s', 'ts=1795616763'],
  // ISO-8601: would join with a neighbour (`ref 40007 20261201` is flagged, see below).
  ['ISO date after a number', 'ref 40007 2026-12-01'],
  ['ISO date', '2026-12-01'],
  ['ISO datetime', '2026-12-01T03:46:54.123Z'],
  ['ISO datetime with offset', 'at 2026-12-01 03:46:54.123456+02:00 ok'],
  ['two ISO dates', '2026-12-01/2027-01-31'],
  // Amounts.
  ['amount with thousands', '1,234,567.89'],
  ['amount', 'EUR 12.50'],
  ['amount after id', 'auth 1234567890123 amount 912.40'],
  // IBANs whose digits are not card-shaped (see the note on IBANs below).
  ['IBAN DE', 'DE89 3704 0044 0532 0130 00'],
  ['IBAN NL', 'NL91 ABNA 0417 1643 00'],
  ['IBAN BE', 'BE68 5390 0754 7034'],
  ['IBAN FR', 'FR14 2004 1010 0505 0001 3M02 606'],
  // Phone numbers.
  ['phone US', '+1 (555) 123-4567'],
  ['phone UK', '+44 20 7946 0958'],
  ['phone DE', '0049 30 1234567'],
  // Network, Kafka, versions, short ids.
  ['IPv4', '192.168.100.200'],
  ['IPv4 with port', '10.0.0.1:9092'],
  ['Kafka offset', 'partition 3 offset 123456789012'],
  ['order number', 'order 42 ORD-2026-000123'],
  ['semantic version', 'v20.19.0 and 1.2.3-rc.1'],
  ['not Luhn-valid', 'order 4111111111111112'],
  ['not Luhn-valid 13 digits', 'order 1234567890123'],
  ['MII 9', '9111111111111111'],
  ['too short', '411111111111'],
  // 64-hex hashes without card-shaped digit runs.
  ['sha256', '9551f6ff6935f400d1422e75827ee012baad045daa3b733e3369fef22b0c9b4e'],
  ['sha256 b', 'b36a83701f1c3191e19722d6f90274bc1b5501fe69ebf33313e440fe4b0fe210'],
  ['sha256 c', '38121022af9b425b5dbf9b56823cf14183bd617022a8bc39a5843c9d7035d039'],
  ['simulator token', 'tok_3f9a1c0b7d2e4a6f8c1b3d5e'],
];

// Shapes that stay ambiguous (card-shaped digits, flagged on purpose: masking a non-PAN costs
// less than leaking a PAN): IBANs with 13+ digits in a row after the country code
// (`ES91 2100 0418 4502 0005 1332`, `CH93 0076 2011 6238 5295 7`, `GB82 WEST 1234 5698 7654 32`,
// `IT60 X054 2811 1010 0000 0123 456` all hold a Luhn-valid card-prefixed window), two numbers
// separated by one space that add up to 13+ digits (`192.168.1.10 10.0.0.254`), and any long
// digit run: a random 16-digit number holds a card-shaped window ~40 % of the time, 19 digits
// ~75 %. Epoch microseconds (16 digits) too.
const AMBIGUOUS = [
  'ES91 2100 0418 4502 0005 1332',
  'CH93 0076 2011 6238 5295 7',
  'GB82 WEST 1234 5698 7654 32',
  '192.168.100.200 10.0.0.1',
];

describe('luhnOk', () => {
  it('checks the Luhn digit of every corpus number, and refuses non-digits', () => {
    for (const p of Object.values(PANS)) expect(luhnOk(p), p).toBe(true);
    expect(luhnOk('4111111111111112')).toBe(false);
    expect(luhnOk('4111-1111-1111-1111')).toBe(false);
    expect(luhnOk('')).toBe(false);
    expect(luhnOk('0')).toBe(true);
  });
});

describe('findPans / containsPan / maskPans: the corpus', () => {
  it(`has at least 50 shapes to find and 20 look-alikes`, () => {
    expect(MUST_FIND.length).toBeGreaterThanOrEqual(50);
    expect(MUST_NOT_FIND.length).toBeGreaterThanOrEqual(20);
  });

  it.each(MUST_FIND)('finds %s', (_label, text, written) => {
    expect(containsPan(text)).toBe(true);
    const masked = maskPans(text);
    expect(masked).toContain('[PAN]');
    expect(masked).not.toContain(written);
    expect(containsPan(masked)).toBe(false);
    // A span covers the card number as written, and lies within the text.
    const spans = findPans(text);
    expect(
      spans.some((s) => text.slice(s.start, s.end).includes(written) || written.includes(text.slice(s.start, s.end))),
    ).toBe(true);
  });

  it.each(MUST_NOT_FIND)('does not flag %s', (_label, text) => {
    expect(findPans(text)).toEqual([]);
    expect(containsPan(text)).toBe(false);
    expect(maskPans(text)).toBe(text);
  });

  it('the look-alikes are meaningful: without the exemption they would be flagged', () => {
    expect(containsPan('706-8430-4952-8393-47')).toBe(true); // the UUID's digits alone
    expect(containsPan('ref 40007 20261201')).toBe(true); // the date's digits alone join
    expect(luhnOk('1795616763003')).toBe(true); // the epoch passes Luhn; its prefix saves it
  });

  it('ambiguous shapes documented above are indeed flagged', () => {
    for (const t of AMBIGUOUS) expect(containsPan(t), t).toBe(true);
  });

  it('exempts only UUIDs with a hex letter: an all-digit UUID shape is scanned', () => {
    expect(containsPan('41111111-1111-1111-1111-111111111111')).toBe(true);
  });

  it('three separators in a row end a sequence', () => {
    expect(containsPan('4111   1111   1111   1111')).toBe(false);
    expect(containsPan('4111 - 1111 - 1111 - 1111')).toBe(false);
  });

  it('UATP (MII 1) only at 15 digits', () => {
    expect(containsPan(PANS.uatp)).toBe(true);
    expect(luhnOk('1000000000009')).toBe(true);
    expect(containsPan('1000000000009')).toBe(false);
  });
});

describe('maskPans output', () => {
  it('replaces each card number, separators included, with [PAN] and keeps the rest', () => {
    expect(maskPans('card 4111 1111 1111 1111 declined')).toBe('card [PAN] declined');
    expect(maskPans('5500-0000-0000-0004')).toBe('[PAN]');
    expect(maskPans('qty 12 4111111111111111')).toBe('qty 12 [PAN]');
    expect(maskPans('ref4111111111111111x')).toBe('ref[PAN]x');
    expect(maskPans('a 4111111111111111, b 5555 5555 5555 4444.')).toBe('a [PAN], b [PAN].');
    expect(maskPans('{"pan":"4111111111111111","n":4012888888881881}')).toBe('{"pan":"[PAN]","n":[PAN]}');
    expect(maskPans('id e3b1a706-8430-4952-8393-47c1d2e3f4a5 card 4111111111111111 at 2026-12-01T03:46:54.123Z')).toBe(
      'id e3b1a706-8430-4952-8393-47c1d2e3f4a5 card [PAN] at 2026-12-01T03:46:54.123Z',
    );
    expect(maskPans('auth 42')).toBe('auth 42');
  });

  it('merges overlapping windows into one span', () => {
    expect(findPans('4111111111111111')).toEqual([{ start: 0, end: 16 }]);
    const two = '4111111111111111 5555555555554444';
    for (const s of findPans(two)) expect(s.end).toBeGreaterThan(s.start);
    const spans = findPans(two);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBeGreaterThan(spans[i - 1]!.end);
    expect(maskPans(two)).not.toMatch(/\d{4}/);
  });

  it('handles long digit runs and large inputs', () => {
    const long = '7'.repeat(5000) + ' 4111111111111111 ' + 'x'.repeat(5000);
    expect(maskPans(long)).toBe('7'.repeat(5000) + ' [PAN] ' + 'x'.repeat(5000));
  });
});

describe('bufferContainsPan: raw bytes', () => {
  const avroString = (s: string): Buffer => {
    // Avro string: zigzag varint length, then the bytes.
    let n = s.length * 2;
    const len: number[] = [];
    while (n > 0x7f) {
      len.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    len.push(n);
    return Buffer.concat([Buffer.from(len), Buffer.from(s, 'latin1')]);
  };

  it('finds a PAN whose length byte is a space (16 chars) or a digit (24-28 chars)', () => {
    const sixteen = avroString('4111111111111111');
    expect(sixteen[0]).toBe(0x20); // ' '
    expect(bufferContainsPan(Buffer.concat([Buffer.from([0x02, 0x31, 0x32]), sixteen, Buffer.from([0x00])]))).toBe(
      true,
    );
    const t24 = avroString('5555555555554444 exp1227');
    expect(t24[0]).toBe(0x30); // '0'
    expect(bufferContainsPan(Buffer.concat([Buffer.from([0x36, 0x38]), t24]))).toBe(true);
    const t26 = avroString('378282246310005 (amex) ok');
    expect(String.fromCharCode(t26[0]!)).toMatch(/\d/);
    expect(bufferContainsPan(t26)).toBe(true);
  });

  it('finds a PAN inside a typed-array view at an offset and in an Avro record with a magic byte', () => {
    const record = Buffer.concat([
      Buffer.from([0, 0, 0, 0, 1]),
      avroString('auth-1'),
      avroString('tok_4012888888881881'),
      Buffer.from([0x96, 0x01]),
    ]);
    expect(bufferContainsPan(record)).toBe(true);
    const big = new Uint8Array(100);
    big.set(Buffer.from('4111111111111111'), 40);
    expect(bufferContainsPan(big.subarray(30, 70))).toBe(true);
    expect(bufferContainsPan(big.subarray(0, 45))).toBe(false);
  });

  it('does not flag an ordinary record, even with a digit length byte glued to a UUID or a date', () => {
    expect(avroString('e3b1a706-8430-4952-8393-47c1d2e3f4a5')[0]).toBe(0x48); // 'H'
    expect(avroString('2026-12-01T03:46:54.123Z')[0]).toBe(0x30); // '0', glued to the date
    expect(avroString('tok_3f9a1c0b7d2e4a6f8c1b3d5e')[0]).toBe(0x38); // '8', glued to the UUID before it
    const record = Buffer.concat([
      Buffer.from([0, 0, 0, 0, 1]),
      avroString('e3b1a706-8430-4952-8393-47c1d2e3f4a5'),
      avroString('tok_3f9a1c0b7d2e4a6f8c1b3d5e'),
      avroString('2026-12-01T03:46:54.123Z'),
      Buffer.from([0x96, 0x01, 0x02]),
    ]);
    expect(bufferContainsPan(record)).toBe(false);
    expect(bufferContainsPan(new Uint8Array(0))).toBe(false);
  });
});

describe('identifierHasPan', () => {
  const hash = '9551f6ff6935f400d1422e75827ee012baad045daa3b733e3369fef22b0c9b4e';
  const hashB = 'b36a83701f1c3191e19722d6f90274bc1b5501fe69ebf33313e440fe4b0fe210';

  it('flags identifiers holding a PAN however written', () => {
    for (const v of [
      '4111111111111111',
      'auth-4111111111111111',
      'T4111111111111111',
      'cust 5555 5555 5555 4444',
      'tok_378282246310005',
      '4111.1111.1111.1111',
    ]) {
      expect(identifierHasPan(v), v).toBe(true);
    }
  });

  it('does not flag ordinary identifiers', () => {
    for (const v of [
      'tok_3f9a1c0b7d2e4a6f8c1b3d5e',
      'c-123456',
      hash,
      'dev_9c2e41b07a3fd815',
      '10.23.187.4',
      'e3b1a706-8430-4952-8393-47c1d2e3f4a5',
      '5411',
      'FR',
      '1234567890123',
    ]) {
      expect(identifierHasPan(v), v).toBe(false);
    }
  });

  it('a hex hash: its digit runs count only when a card number of a network is glued to either end', () => {
    // A 16-digit Luhn-valid card-prefixed run in the middle of a hash: containsPan flags it,
    // identifierHasPan does not (hashes hold such runs by chance).
    const mid = `${hash.slice(0, 20)}c4111111111111111c${hash.slice(38)}`;
    expect(mid).toMatch(/^[0-9a-f]{64}$/);
    expect(containsPan(mid)).toBe(true);
    expect(identifierHasPan(mid)).toBe(false);
    // Concatenated with a hash: refused (hashB starts and hash ends with a letter).
    expect(identifierHasPan(`4111111111111111${hashB}`)).toBe(true);
    expect(identifierHasPan(`${hash}5555555555554444`)).toBe(true);
    expect(identifierHasPan(`${hash.slice(0, 47)}c6011111111111117`)).toBe(true);
    // The run is the whole maximal digit run: a hash starting with more digits than a card is not.
    expect(identifierHasPan(`41111111111111110123456c${hash.slice(24)}`)).toBe(false);
    // ... which is also the blind spot: a PAN glued to a hash that starts with digits.
    expect(identifierHasPan(`4111111111111111${hash}`)).toBe(false);
    // Not Luhn-valid, or not a network's prefix for that length, or UATP (MII 1): not a card.
    expect(identifierHasPan(`4111111111111112c${hash}`)).toBe(false);
    expect(identifierHasPan(`9111111111111111c${hash}`)).toBe(false);
    expect(containsPan('411111111111116')).toBe(true);
    expect(identifierHasPan(`411111111111116c${hash}`)).toBe(false); // Visa is 13, 16 or 19
    expect(identifierHasPan(`135410014004955c${hash}`)).toBe(false);
    // Upper-case hex, or a separator, is not hash-shaped: full detection.
    expect(identifierHasPan(`${hash.slice(0, 20).toUpperCase()}4111111111111111${hash.slice(36)}`)).toBe(true);
    // All digits, 32+ long: not hash-shaped either (full detection).
    expect(identifierHasPan('4111111111111111' + '4111111111111111')).toBe(true);
  });

  it("the test fixtures' `1234567890123<hash tail>` email hashes are not refused", () => {
    // The tail ends with a letter: a random tail could itself end in a card number glued to the
    // hash (rightly flagged, ~1 in 10,000), which is not what this checks.
    for (let i = 0; i < 2000; i++) {
      const h = randomBytes(32).toString('hex');
      expect(identifierHasPan(`1234567890123${h.slice(13, 63)}f`)).toBe(false);
    }
  });

  it('flags far fewer random 64-hex strings than containsPan (< 0.01 % vs ~1 %)', () => {
    let contains = 0;
    let ident = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const h = randomBytes(32).toString('hex');
      if (containsPan(h)) contains++;
      if (identifierHasPan(h)) ident++;
    }
    expect(contains / n).toBeGreaterThan(0.003);
    expect(ident / n).toBeLessThan(0.0005); // expected ~0.005 %: 0-8 of 50,000
  });
});

describe('maskDeep', () => {
  it('masks strings in nested objects and arrays, keys included, and copies', () => {
    const input = {
      a: { b: { c: 'card 4111 1111 1111 1111', n: 12 } },
      list: ['5555555555554444', 'ok', [{ deep: 'x 378282246310005 y' }]],
      ['4111111111111111']: 'key is a PAN',
      nothing: null,
      undef: undefined,
      flag: true,
      time: 1795616763003,
    };
    const out = maskDeep(input);
    expect(out).toEqual({
      a: { b: { c: 'card [PAN]', n: 12 } },
      list: ['[PAN]', 'ok', [{ deep: 'x [PAN] y' }]],
      '[PAN]': 'key is a PAN',
      nothing: null,
      undef: undefined,
      flag: true,
      time: 1795616763003,
    });
    expect(out).not.toBe(input);
    expect(out.a).not.toBe(input.a);
    expect(input.a.b.c).toBe('card 4111 1111 1111 1111'); // the input is untouched
  });

  it('masks numbers that are card numbers', () => {
    expect(maskDeep({ n: 4111111111111111, m: 1250, t: 1795616763003 })).toEqual({
      n: '[PAN]',
      m: 1250,
      t: 1795616763003,
    });
    expect(maskDeep(4111111111111111n as unknown)).toBe('[PAN]');
  });

  it('turns Errors into {type, message, stack, code}, masked, causes folded in', () => {
    const err = Object.assign(new TypeError('bad card 4111111111111111'), { code: 'E_CARD' });
    const out = maskDeep({ err }) as unknown as { err: Record<string, unknown> };
    expect(out.err.type).toBe('TypeError');
    expect(out.err.message).toBe('bad card [PAN]');
    expect(out.err.code).toBe('E_CARD');
    expect(out.err.stack).toContain('TypeError: bad card [PAN]');
    expect(String(out.err.stack)).not.toContain('4111111111111111');
    const wrapped = new Error('outer', { cause: new Error('inner 5555-5555-5555-4444') });
    const w = maskDeep(wrapped) as unknown as Record<string, string>;
    expect(w.message).toBe('outer: inner [PAN]');
    expect(w.stack).toContain('caused by: Error: inner [PAN]');
    expect(Object.keys(w).sort()).toEqual(['message', 'stack', 'type']);
  });

  it('cuts cycles and depth beyond 20 safely', () => {
    const a: Record<string, unknown> = { name: 'a 4111111111111111' };
    a.self = a;
    a.list = [a, { back: a }];
    const out = maskDeep(a);
    expect(out.name).toBe('a [PAN]');
    expect(out.self).toBe('[Circular]');
    expect(out.list).toEqual(['[Circular]', { back: '[Circular]' }]);
    expect(() => JSON.stringify(out)).not.toThrow();

    // The same object twice (not a cycle) is copied twice.
    const shared = { v: '4111111111111111' };
    expect(maskDeep({ x: shared, y: shared })).toEqual({ x: { v: '[PAN]' }, y: { v: '[PAN]' } });

    let deep: Record<string, unknown> = { leaf: '4111111111111111' };
    for (let i = 0; i < 30; i++) deep = { next: deep };
    const cut = JSON.stringify(maskDeep(deep));
    expect(cut).toContain('[MaxDepth]');
    expect(cut).not.toContain('4111111111111111');
    expect(cut.match(/next/g)!.length).toBe(21); // depth 0..20 kept
  });

  it('keeps dates, copies buffers, masks Map and Set contents, uses toJSON', () => {
    const d = new Date('2026-12-01T03:46:54.123Z');
    const out = maskDeep({ d, buf: Buffer.from('hello'), pan: Buffer.from('4111111111111111') });
    expect(out.d).toBeInstanceOf(Date);
    expect(out.d.getTime()).toBe(d.getTime());
    expect(Buffer.from(out.buf).toString()).toBe('hello');
    expect(out.pan as unknown).toBe('[PAN]');
    const dv = maskDeep({ dv: new DataView(new ArrayBuffer(4)) }).dv;
    expect(dv).toBeInstanceOf(DataView);
    expect(dv.byteLength).toBe(4);
    const m = maskDeep(new Map([['4111111111111111', new Set(['5555555555554444'])]]));
    expect([...m.keys()]).toEqual(['[PAN]']);
    expect([...m.values()][0]).toEqual(new Set(['[PAN]']));
    expect(maskDeep({ v: { toJSON: () => 'card 4111111111111111' } })).toEqual({ v: 'card [PAN]' });
    expect(maskDeep('4111111111111111')).toBe('[PAN]');
    expect(maskDeep(null)).toBe(null);
    expect(maskDeep(undefined)).toBe(undefined);
  });
});
