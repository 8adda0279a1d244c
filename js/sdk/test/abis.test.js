// The SDK's fallback ABI fragments must match the compiled contracts exactly.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { toEventSelector, toFunctionSelector } from 'viem'
import { espRegistryAbi, hashTimeLockAbi, registryAbi } from '../src/abis.js'

/** @param {string} name */
function artifact(name) {
  const url = new URL(`../../../contracts/artifacts/${name}.json`, import.meta.url)
  return JSON.parse(readFileSync(url, 'utf8')).abi
}

/** @param {any} item */
function selector(item) {
  return item.type === 'event' ? toEventSelector(item) : toFunctionSelector(item)
}

for (const [name, fragments] of /** @type {const} */ ([
  ['HashTimeLock', hashTimeLockAbi],
  ['EspRegistry', espRegistryAbi],
  ['Registry', registryAbi],
])) {
  test(`${name}: every fragment the SDK uses is in the compiled ABI, outputs and indexing included`, () => {
    const compiled = artifact(name)
    for (const item of fragments) {
      const match = compiled.find((/** @type {any} */ c) => c.type === item.type && c.name === item.name && selector(c) === selector(item))
      assert.ok(match, `${name}.${item.name}: no compiled item with this signature`)
      if (item.type === 'function') {
        assert.deepEqual(match.outputs.map((/** @type {any} */ o) => o.type), item.outputs.map((o) => o.type), item.name)
        assert.equal(match.stateMutability, item.stateMutability, item.name)
      } else {
        assert.deepEqual(match.inputs.map((/** @type {any} */ i) => !!i.indexed), item.inputs.map((i) => !!(/** @type {any} */ (i).indexed)), item.name)
      }
    }
  })
}
