// A fresh token cannot enter the swap escrow until block N (the Registry's
// RegistryTokenReclaimable(tokenId, untilBlock): an earlier payer of its ESP may still reclaim it
// until then; the API holds it as 409 token_reclaimable, its message naming the block). The SDK
// reads that block from either form and says when, in blocks and approximate time.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { BaseError, encodeErrorResult, parseAbi, RawContractError, toFunctionSelector } from 'viem'
import {
  AigcApiError, AigcContractError, AigcSdkError, describeReclaimable, NESTED_ERRORS, reclaimableUntil, toContractError,
} from '../src/index.js'
import { hashTimeLockAbi } from '../src/abis.js'
import { HTLC } from './helpers.js'

const RECLAIMABLE = parseAbi(['error RegistryTokenReclaimable(uint256 tokenId, uint64 untilBlock)'])
const TOKEN = 2n ** 255n + 9n

test('the Registry\'s RegistryTokenReclaimable is decoded from a call to the HTLC (the escrow lock refused inside it)', () => {
  const data = encodeErrorResult({ abi: RECLAIMABLE, errorName: 'RegistryTokenReclaimable', args: [TOKEN, 7_300n] })
  const err = toContractError(new BaseError('execution reverted', { cause: new RawContractError({ data }) }), hashTimeLockAbi, HTLC)
  assert.ok(err instanceof AigcContractError)
  assert.deepEqual([err.code, err.fields, err.contract], ['RegistryTokenReclaimable', { tokenId: TOKEN, untilBlock: 7_300n }, HTLC])
  assert.equal(reclaimableUntil(err), 7_300n)
})

test('a batch item\'s BatchTokenReclaimable is decoded from a call to the HTLC too, and reclaimableUntil reads its block', () => {
  const abi = parseAbi(['error BatchTokenReclaimable(uint256 tokenId, uint64 untilBlock)'])
  const data = encodeErrorResult({ abi, errorName: 'BatchTokenReclaimable', args: [TOKEN, 7_400n] })
  const err = toContractError(new BaseError('execution reverted', { cause: new RawContractError({ data }) }), hashTimeLockAbi, HTLC)
  assert.ok(err instanceof AigcContractError)
  assert.deepEqual([err.code, err.fields], ['BatchTokenReclaimable', { tokenId: TOKEN, untilBlock: 7_400n }])
  assert.equal(reclaimableUntil(err), 7_400n)
  assert.equal(reclaimableUntil(new AigcApiError(409, 'BatchTokenReclaimable', 'refused', undefined, null, { tokenId: String(TOKEN), untilBlock: '7401' })), 7_401n)
})

test('reclaimableUntil reads the block from the API\'s 409 token_reclaimable (fields, or the block its message names) and the contract\'s error; null otherwise', () => {
  const message = `token 0x${TOKEN.toString(16)} may still be reclaimed by an earlier payer of its bytes until block 7208 (the Registry's escrow refuses it until then): not traded before then`
  assert.equal(reclaimableUntil(new AigcApiError(409, 'token_reclaimable', message)), 7_208n)
  assert.equal(reclaimableUntil(new AigcApiError(409, 'token_reclaimable', 'held', undefined, null, { reclaimable_until: '9000' })), 9_000n)
  // the API's 409 carrying the contract's error (an escrow lock it estimated): uints as decimal strings
  assert.equal(reclaimableUntil(new AigcApiError(409, 'RegistryTokenReclaimable', 'refused', undefined, null, { tokenId: String(TOKEN), untilBlock: '7301' })), 7_301n)
  // wrapped (a wallet's error whose cause is the SDK's)
  const wrapped = new Error('failed', { cause: new AigcApiError(409, 'token_reclaimable', message) })
  assert.equal(reclaimableUntil(wrapped), 7_208n)
  for (const other of [new AigcApiError(409, 'attestation_mismatch', 'until block 5'), new AigcSdkError('tx_mismatch', 'x'), null, 'text']) {
    assert.equal(reclaimableUntil(other), null, String(other))
  }
  assert.equal(reclaimableUntil(new AigcApiError(409, 'token_reclaimable', 'no block named')), null)
})

test('describeReclaimable says the block, how many blocks from the head, and about how long (12 s a block)', () => {
  assert.deepEqual(describeReclaimable({ untilBlock: 7_208n, head: 8n }), {
    untilBlock: 7_208n, blocks: 7_200n, seconds: 86_400n,
    text: 'until block 7208, 7200 blocks from now (about 24 hours)',
  })
  assert.equal(describeReclaimable({ untilBlock: 110n, head: 100n }).text, 'until block 110, 10 blocks from now (about 2 minutes)')
  assert.equal(describeReclaimable({ untilBlock: 101n, head: 100n }).text, 'until block 101, 1 block from now (about 12 seconds)')
  assert.equal(describeReclaimable({ untilBlock: 400n, head: 100n, secondsPerBlock: 2n }).text, 'until block 400, 300 blocks from now (about 10 minutes)')
  const past = describeReclaimable({ untilBlock: 100n, head: 100n })
  assert.deepEqual([past.blocks, past.seconds, past.text], [0n, 0n, 'until block 100, which is now: try again after the next block'])
})

test('every nested error the SDK decodes is the Registry\'s or the BatchRegistry\'s compiled one (same selector)', () => {
  const compiled = ['Registry', 'BatchRegistry'].flatMap((name) => {
    const url = new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url)
    return JSON.parse(readFileSync(url, 'utf8')).abi.filter((/** @type {any} */ i) => i.type === 'error')
  })
  for (const item of NESTED_ERRORS) {
    const sel = toFunctionSelector(/** @type {any} */ ({ ...item, type: 'function' }))
    assert.ok(compiled.some((/** @type {any} */ c) => c.name === item.name && toFunctionSelector({ ...c, type: 'function' }) === sel), item.name)
  }
})
