/**
 * Reads a CSV history stream as bytes: chunks (Buffers, byte arrays or strings) are cut at the
 * last newline, the incomplete tail carried into the next chunk, a UTF-8 BOM dropped and a
 * last line without a newline completed, so that the fast reader (csv-fast.ts) only ever sees
 * whole lines; records come out in batches of at least BATCH, in file order. A read error is
 * reported with the file name; a HistoryFileError passes through as it is.
 */
import type { Readable } from 'node:stream';
import { CsvByteReader } from './csv-fast.js';
import { BATCH, HistoryFileError, type HistoryRecord } from './record.js';

/**
 * CSV from bytes: a line without quotes is split and decoded in place (ids interned from their
 * bytes, amounts and times parsed from digits, no intermediate strings); anything else (quotes,
 * unusual number or time formats, errors) goes through the string parser, which is the reference.
 */
export async function* readCsvBatches(
  input: Readable | AsyncIterable<string | Uint8Array>,
  name: string,
): AsyncGenerator<HistoryRecord[]> {
  const reader = new CsvByteReader(name);
  let carry: Buffer | null = null;
  let first = true;
  let out: HistoryRecord[] = [];
  try {
    for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
      let buf: Buffer =
        typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      if (carry) buf = Buffer.concat([carry, buf]);
      let start = 0;
      if (first && buf.length >= 3) {
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
        first = false;
      }
      const last = buf.lastIndexOf(10);
      if (last < start) {
        carry = start ? buf.subarray(start) : buf;
        continue;
      }
      reader.lines(buf, start, last + 1, out);
      carry = last + 1 < buf.length ? buf.subarray(last + 1) : null;
      if (out.length >= BATCH) {
        yield out;
        out = [];
      }
    }
  } catch (err) {
    if (err instanceof HistoryFileError) throw err;
    throw new Error(`cannot read ${name}: ${(err as Error).message}`, { cause: err });
  }
  if (carry && carry.length) {
    let start = 0;
    if (first && carry.length >= 3 && carry[0] === 0xef && carry[1] === 0xbb && carry[2] === 0xbf) start = 3;
    reader.lines(Buffer.concat([carry.subarray(start), Buffer.from('\n')]), 0, carry.length - start + 1, out);
  }
  reader.end();
  if (out.length > 0) yield out;
}
