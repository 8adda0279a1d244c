// The content hash computed in JavaScript equals services.content.canonical_hash (vectors made
// with PIL: RGB, RGBA, grey, grey+alpha, palette, optimised and filtered rows).

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { decodePng, pngContentHash } from '../src/index.js'

const vectors = JSON.parse(readFileSync(new URL('./vectors/png.json', import.meta.url), 'utf8'))

for (const v of vectors.images) {
  test(`content hash of a PNG equals Python's canonical_hash: ${v.name}`, async () => {
    assert.equal(await pngContentHash(new Uint8Array(Buffer.from(v.png_base64, 'base64'))), v.content_hash)
  })
}

test('a corrupted or foreign file is refused with a stable code', async () => {
  const png = new Uint8Array(Buffer.from(vectors.images[0].png_base64, 'base64'))
  await assert.rejects(decodePng(new TextEncoder().encode('GIF89a...')), { code: 'not_png' })
  await assert.rejects(decodePng(png.subarray(0, 40)), { code: 'bad_png' })
})
