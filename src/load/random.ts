/**
 * A small seeded pseudo-random number generator for the load generator: the same seed
 * always yields the same sequence, on every platform, so a load run can be replayed.
 *
 * The state is one 32-bit counter advanced by the golden-ratio increment, and each output
 * is that counter passed through an avalanche mix (the SplitMix scheme, in 32 bits). The
 * period is 2^32 outputs, plenty for test data; it is not suitable for anything secret.
 */

/** Increment of the counter: 2^32 divided by the golden ratio, an odd number. */
const GOLDEN_GAMMA = 0x9e3779b9;

export class Random {
  private state: number;

  /** `seed` is any safe integer; seeds that differ in any bit give different sequences. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const wide = BigInt(seed);
    // Fold the high bits into the low 32 so that seeds above 2^32 still count.
    this.state = Number(BigInt.asUintN(32, wide) ^ BigInt.asUintN(32, wide >> 32n)) | 0;
  }

  /** A uniformly distributed integer in [0, 2^32). */
  uint32(): number {
    this.state = (this.state + GOLDEN_GAMMA) | 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A number in [0, 1). */
  float(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[this.int(0, items.length)] as T;
  }

  /** Picks a key with probability proportional to its weight (weights > 0). */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let point = this.float() * total;
    for (const [key, weight] of entries) {
      point -= weight;
      if (point < 0) return key;
    }
    return (entries[entries.length - 1] as [K, number])[0];
  }

  /** `digits` lower-case hexadecimal digits. */
  hex(digits: number): string {
    let out = '';
    while (out.length < digits) out += this.uint32().toString(16).padStart(8, '0');
    return out.slice(0, digits);
  }

  /** A string shaped like a version-4 UUID, drawn from this generator (so reproducible). */
  uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
