/**
 * Interners for the ids that repeat through a history file (customers, terminals, cards,
 * merchants…): every occurrence of one id shares one string instance, which keeps a file of
 * millions of records in memory and makes the feature store's map lookups cheap. Interner works
 * on strings (the reference CSV parser); ByteInterner works on the raw UTF-8 bytes of a field
 * (the fast reader), so that a repeated id costs a hash and a compare and allocates nothing.
 * Each holds at most 2^20 entries; past that, new ids are returned uninterned.
 */

/** Repeated ids (customers, terminals, merchants…) share one string instance. */
export class Interner {
  private readonly map = new Map<string, string>();
  get(s: string): string {
    const v = this.map.get(s);
    if (v !== undefined) return v;
    if (this.map.size < 1 << 20) this.map.set(s, s);
    return s;
  }
}

/**
 * Interns strings by their UTF-8 bytes: a repeated id costs a hash and a compare, no allocation.
 * Open addressing over typed arrays, key bytes in one arena: few pointer chases per lookup.
 */
export class ByteInterner {
  private static readonly MAX_ENTRIES = 1 << 20;
  private table = new Int32Array(1 << 12).fill(-1);
  private hashes: Int32Array = new Int32Array(1 << 11);
  private offs: Int32Array = new Int32Array(1 << 11);
  private lens: Int32Array = new Int32Array(1 << 11);
  private readonly strs: string[] = [];
  private arena = new Uint8Array(1 << 16);
  private arenaLen = 0;

  get(buf: Buffer, s: number, e: number): string {
    const len = e - s;
    // FNV-1a over at most the first and last 8 bytes (the full bytes are compared on a hit).
    let h = 0x811c9dc5 ^ len;
    if (len <= 16) {
      for (let p = s; p < e; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    } else {
      for (let p = s; p < s + 8; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
      for (let p = e - 8; p < e; p++) h = Math.imul(h ^ buf[p]!, 0x01000193);
    }
    h ^= h >>> 15;
    const table = this.table;
    const mask = table.length - 1;
    let slot = h & mask;
    for (;;) {
      const id = table[slot]!;
      if (id < 0) break;
      if (this.hashes[id] === h && this.lens[id] === len) {
        const arena = this.arena;
        const o = this.offs[id]! - s;
        let p = s;
        while (p < e && arena[o + p] === buf[p]) p++;
        if (p === e) return this.strs[id]!;
      }
      slot = (slot + 1) & mask;
    }
    const str = buf.toString('utf8', s, e);
    const id = this.strs.length;
    if (id >= ByteInterner.MAX_ENTRIES) return str;
    if (id >= this.hashes.length) {
      this.hashes = grow(this.hashes);
      this.offs = grow(this.offs);
      this.lens = grow(this.lens);
    }
    if (this.arenaLen + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    this.arena.set(buf.subarray(s, e), this.arenaLen);
    this.hashes[id] = h;
    this.offs[id] = this.arenaLen;
    this.lens[id] = len;
    this.arenaLen += len;
    this.strs.push(str);
    table[slot] = id;
    if ((id + 1) * 2 > table.length) this.rehash();
    return str;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2).fill(-1);
    const mask = table.length - 1;
    for (let id = 0; id < this.strs.length; id++) {
      let slot = this.hashes[id]! & mask;
      while (table[slot]! >= 0) slot = (slot + 1) & mask;
      table[slot] = id;
    }
    this.table = table;
  }
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
