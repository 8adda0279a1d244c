// The content hash the chain registers (the token id) of a PNG: decoded here, hashed by
// delivery.js (sha256("RGB {w}x{h}\n" || RGB pixels), as services/content.py defines it). The PNG decoder covers what
// encoders write for still images (8-bit grey, RGB, palette, grey+alpha, RGBA; no interlace) and
// uses the platform's DecompressionStream (browsers, Node 18+).

import { contentHash } from './delivery.js'
import { AigcSdkError } from './errors.js'

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10]
const CHANNELS = /** @type {Record<number, number>} */ ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 })

/**
 * @param {Uint8Array} bytes
 * @returns {Promise<Uint8Array>}
 */
async function inflate(bytes) {
  const stream = new Blob([new Uint8Array(bytes)]).stream().pipeThrough(new DecompressionStream('deflate'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/**
 * Decodes a PNG to RGB pixels (alpha dropped, grey and palette expanded, as PIL's
 * `convert("RGB")` does).
 * @param {Uint8Array} png
 * @returns {Promise<{ width: number, height: number, rgb: Uint8Array }>}
 */
export async function decodePng(png) {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) {
    throw new AigcSdkError('not_png', 'the image is not a PNG')
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  let pos = 8
  let width = 0
  let height = 0
  let colorType = -1
  let depth = 8
  /** @type {Uint8Array | null} */
  let palette = null
  /** @type {Uint8Array[]} */
  const idat = []
  while (pos + 8 <= png.length) {
    const length = view.getUint32(pos)
    const type = String.fromCharCode(...png.subarray(pos + 4, pos + 8))
    const data = png.subarray(pos + 8, pos + 8 + length)
    if (data.length !== length) throw new AigcSdkError('bad_png', `truncated ${type} chunk`)
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8)
      height = view.getUint32(pos + 12)
      depth = data[8]
      colorType = data[9]
      const low = depth < 8 && [1, 2, 4].includes(depth) && (colorType === 0 || colorType === 3)
      if ((depth !== 8 && !low) || !(colorType in CHANNELS) || data[12] !== 0) {
        throw new AigcSdkError('unsupported_png', `PNG depth ${depth}, colour type ${colorType}, interlace ${data[12]}`)
      }
      if (width === 0 || height === 0 || width * height > 100_000_000) {
        throw new AigcSdkError('bad_png', `PNG size ${width}x${height}`)
      }
    } else if (type === 'PLTE') {
      palette = data
    } else if (type === 'IDAT') {
      idat.push(data)
    } else if (type === 'IEND') {
      break
    }
    pos += 12 + length
  }
  if (colorType < 0 || idat.length === 0) throw new AigcSdkError('bad_png', 'PNG without IHDR or IDAT')
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0))
  idat.reduce((off, c) => (joined.set(c, off), off + c.length), 0)
  const raw = await inflate(joined)
  const bpp = CHANNELS[colorType]
  const stride = depth === 8 ? width * bpp : Math.ceil((width * depth) / 8)
  if (raw.length < height * (stride + 1)) throw new AigcSdkError('bad_png', 'PNG image data is short')
  let pixels = unfilter(raw, height, stride, depth === 8 ? bpp : 1)
  if (depth < 8) pixels = unpack(pixels, width, height, stride, depth, colorType === 0)
  const rgb = new Uint8Array(width * height * 3)
  for (let i = 0, o = 0; i < width * height; i++, o += 3) {
    const p = i * bpp
    if (colorType === 2 || colorType === 6) {
      rgb[o] = pixels[p]; rgb[o + 1] = pixels[p + 1]; rgb[o + 2] = pixels[p + 2]
    } else if (colorType === 3) {
      const k = pixels[p] * 3
      if (!palette || k + 2 >= palette.length) throw new AigcSdkError('bad_png', 'palette index out of range')
      rgb[o] = palette[k]; rgb[o + 1] = palette[k + 1]; rgb[o + 2] = palette[k + 2]
    } else {
      rgb[o] = rgb[o + 1] = rgb[o + 2] = pixels[p]
    }
  }
  return { width, height, rgb }
}

/**
 * Sub-byte samples (1, 2 or 4 bits: palette indexes or grey levels) to one byte each; grey
 * levels are scaled to 0..255 as PIL does.
 * @param {Uint8Array} packed
 * @param {number} width
 * @param {number} height
 * @param {number} stride
 * @param {number} depth
 * @param {boolean} grey
 */
function unpack(packed, width, height, stride, depth, grey) {
  const out = new Uint8Array(width * height)
  const mask = (1 << depth) - 1
  const scale = grey ? 255 / mask : 1
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth
      const byte = packed[y * stride + (bit >> 3)]
      out[y * width + x] = ((byte >> (8 - depth - (bit & 7))) & mask) * scale
    }
  }
  return out
}

/**
 * Reverses PNG's per-row filters (None, Sub, Up, Average, Paeth).
 * @param {Uint8Array} raw
 * @param {number} height
 * @param {number} stride
 * @param {number} bpp
 */
function unfilter(raw, height, stride, bpp) {
  const out = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const src = y * (stride + 1) + 1
    const row = y * stride
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? out[row + x - bpp] : 0
      const b = y > 0 ? out[row - stride + x] : 0
      const c = x >= bpp && y > 0 ? out[row - stride + x - bpp] : 0
      let v = raw[src + x]
      if (filter === 1) v += a
      else if (filter === 2) v += b
      else if (filter === 3) v += (a + b) >> 1
      else if (filter === 4) {
        const p = a + b - c
        const pa = Math.abs(p - a)
        const pb = Math.abs(p - b)
        const pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c
      } else if (filter !== 0) throw new AigcSdkError('bad_png', `unknown PNG filter ${filter}`)
      out[row + x] = v & 0xff
    }
  }
  return out
}

/**
 * The on-chain content hash (token id) of a PNG file: its pixels hashed by delivery.js's
 * `contentHash` (docs/delivery.md section 3).
 * @param {Uint8Array} png
 * @returns {Promise<`0x${string}`>}
 */
export async function pngContentHash(png) {
  return contentHash(await decodePng(png))
}
