// The API's request and response shapes, from the generated openapi.d.ts (scripts/gen-types.sh).
// A route whose shape changes under the SDK breaks `tsc --noEmit -p js/sdk`.

/** @typedef {import('./openapi.js').components['schemas']} Schemas */
/** @typedef {import('./openapi.js').paths} Paths */
/** @typedef {Schemas['TaskOut']} TaskOut */
/** @typedef {Schemas['TradeOut']} TradeOut */
/** @typedef {Schemas['ListingOut']} ListingOut */
/** @typedef {Schemas['UnsignedTx']} UnsignedTx */
/** @typedef {Schemas['EspOut']} EspOut */
/** @typedef {Schemas['DeploymentOut']} DeploymentOut */
/** @typedef {Schemas['Health']} Health */
/** @typedef {Schemas['ProductOut']} ProductOut */
/** @typedef {Schemas['OpeningOut']} OpeningOut */

export {}
