import assert from 'node:assert/strict'
import { test } from 'node:test'
import { stringifyJson, toBigInt, toBytes32Hex, toDecimal } from '../src/index.js'

test('uints arrive as number, decimal string or hex string and become exact BigInts', () => {
  assert.equal(toBigInt(5), 5n)
  assert.equal(toBigInt('1234567890123456789'), 1234567890123456789n)
  assert.equal(toBigInt('0x10'), 16n)
  assert.equal(toBigInt(` ${2n ** 255n} `), 2n ** 255n)
  assert.equal(toBigInt(7n), 7n)
})

test('numbers that lost precision, fractions, negatives and junk are refused', () => {
  assert.throws(() => toBigInt(1234567890123456789), RangeError) // already rounded by JSON
  assert.throws(() => toBigInt(1.5), RangeError)
  assert.throws(() => toBigInt(-1), RangeError)
  assert.throws(() => toBigInt(-1n), RangeError)
  assert.throws(() => toBigInt('1e18'), TypeError)
  assert.throws(() => toBigInt('12abc'), TypeError)
  assert.throws(() => toBigInt(/** @type {any} */ (null)), TypeError)
})

test('BigInts travel as decimal strings; token ids as 32-byte hex', () => {
  assert.equal(stringifyJson({ price: 1234567890123456789n, n: 1 }), '{"price":"1234567890123456789","n":1}')
  assert.equal(toDecimal('0xff'), '255')
  assert.equal(toBytes32Hex(1n), `0x${'0'.repeat(63)}1`)
  assert.throws(() => toBytes32Hex(2n ** 256n), RangeError)
})
