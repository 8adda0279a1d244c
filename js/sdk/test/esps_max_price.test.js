// listEsps({ maxPrice }): GET /v1/esps?max_price= (decimal wei), the ESPs a task paying at most
// that can draw; without it, no max_price is sent.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { listEsps } from '../src/index.js'
import { client, fakeApi } from './helpers.js'

test('listEsps passes maxPrice as decimal wei, and nothing without it', async () => {
  /** @type {(string | null)[]} */
  const asked = []
  const api = fakeApi({
    'GET /v1/esps': ({ url }) => {
      asked.push(url.searchParams.get('max_price'))
      return [200, { viewer: 'anonymous', temperature: 0.2, floor: 0.55, items: [] }]
    },
  })
  await listEsps(client(api), { maxPrice: 10n ** 15n })
  await listEsps(client(api), { maxPrice: '0x10' })
  await listEsps(client(api))
  assert.deepEqual(asked, ['1000000000000000', '16', null])
  await assert.rejects(listEsps(client(api), { maxPrice: -1 }), RangeError)
})
