// FP16 conversions (half.ts) against IEEE 754 binary16 facts: every bit pattern round-trips,
// ties round to even, the overflow and subnormal bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FP16_MAX, fromHalfBits, halfBits, halfValue, toHalfBits } from './half.js';

test('every FP16 bit pattern round-trips through its value (NaNs become the quiet NaN)', () => {
  for (let b = 0; b < 0x10000; b++) {
    const v = halfValue(b);
    if (Number.isNaN(v)) assert.equal(halfBits(v), 0x7e00, `bits ${b.toString(16)}`);
    else assert.equal(halfBits(v), b, `bits ${b.toString(16)} value ${v}`);
  }
});

test('known values: 1, -2, 0.1, 1/3, the largest and smallest, infinities, -0', () => {
  assert.equal(halfBits(1), 0x3c00);
  assert.equal(halfBits(-2), 0xc000);
  assert.equal(halfValue(halfBits(0.1)), 0.0999755859375);
  assert.equal(halfBits(1 / 3), 0x3555);
  assert.equal(halfBits(FP16_MAX), 0x7bff);
  assert.equal(halfBits(2 ** -24), 0x0001);
  assert.equal(halfBits(2 ** -14), 0x0400);
  assert.equal(halfBits(Infinity), 0x7c00);
  assert.equal(halfBits(-Infinity), 0xfc00);
  assert.equal(halfBits(-0), 0x8000);
  assert.ok(Object.is(halfValue(0x8000), -0));
});

test('rounds to nearest, ties to even; 65520 and more overflow, below 2^-25 underflows to 0', () => {
  // 1 + 2^-11 lies halfway between 1 (even mantissa) and 1 + 2^-10: to 1; 1 + 3 * 2^-11 goes up to 1 + 2^-9.
  assert.equal(halfBits(1 + 2 ** -11), 0x3c00);
  assert.equal(halfBits(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(halfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  assert.equal(halfBits(65519.99), 0x7bff);
  assert.equal(halfBits(65520), 0x7c00);
  assert.equal(halfBits(2 ** -25), 0x0000);
  assert.equal(halfBits(2 ** -25 + 2 ** -30), 0x0001);
  assert.equal(halfBits(1.5 * 2 ** -24), 0x0002);
});

test('arrays: values to bits and back', () => {
  const bits = toHalfBits([1.5, -0.25, 65504]);
  assert.deepEqual([...bits], [0x3e00, 0xb400, 0x7bff]);
  assert.deepEqual([...fromHalfBits(bits)], [1.5, -0.25, 65504]);
});
