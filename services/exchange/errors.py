"""Errors of the exchange service (hash-lock secrets, swaps, sealed delivery)."""

from __future__ import annotations

from services.errors import ServiceError


class ExchangeError(ServiceError):
    """Root of every error raised by :mod:`services.exchange`."""


class UnsafeTimelockOrder(ExchangeError):
    """Raised when a swap's payment lock would not expire safely before the asset lock.

    The buyer's price lock (T2) must expire at least ``margin`` seconds before the seller's token
    lock (T1): otherwise the seller could reveal the secret late, take the price, and leave the
    buyer no time to claim the token before the seller refunds it. Given ``now``: the payment
    lock would expire less than ``margin`` seconds from now, so the seller's claim (which
    publishes the secret) could land after T2, letting the buyer refund the payment and still
    take the token with the published secret.
    """

    def __init__(
        self, *, asset_timelock: int, payment_timelock: int, margin: int, now: int | None = None
    ):
        self.asset_timelock = asset_timelock
        self.payment_timelock = payment_timelock
        self.margin = margin
        self.now = now
        if now is not None:
            message = (
                f"payment timelock {payment_timelock} must be >= now {now} + margin {margin} "
                f"(= {now + margin}): the seller needs that long to claim"
            )
        else:
            message = (
                f"payment timelock {payment_timelock} must be <= asset timelock "
                f"{asset_timelock} - margin {margin} (= {asset_timelock - margin})"
            )
        super().__init__(message)


class ClaimTooLate(ExchangeError):
    """Raised when the seller's claim of the price might land after the payment lock expires.

    Claiming publishes the secret in the transaction's calldata even if the transaction then
    fails (the lock expired first): the buyer would refund its payment and still take the token
    with that secret. Too close to T2 the seller keeps the secret; both sides refund instead.
    """

    def __init__(self, *, payment_timelock: int, now: int, margin: int):
        self.payment_timelock = payment_timelock
        self.now = now
        self.margin = margin
        super().__init__(
            f"the payment lock expires at {payment_timelock}, {payment_timelock - now} s from "
            f"now ({now}); a claim needs {margin} s to land safely: not claiming (publishing the "
            "secret now could hand the buyer both the token and a refund); both sides refund"
        )


class ClaimWindowClosed(ExchangeError):
    """Raised when a withdrawal of an Ether or ERC-20 lock (a sale's payment, a generation fee)
    might be mined after the lock's claim window: the HashTimeLock refuses it more than
    ``claimWindow`` blocks after the lock's own block (``LockClaimWindowClosed``).

    As with :class:`ClaimTooLate`, a claim that fails on chain has still published its secret in
    the calldata: the buyer takes the token (an ERC-721 lock has no claim window) and refunds the
    payment at T2; a producer opens the sealed delivery and refunds the fee. So the claim is not
    sent once the head is within ``margin`` blocks of ``last_block`` (the last block a withdrawal
    is accepted in); the secret is kept and both sides refund.
    """

    def __init__(self, *, last_block: int, block: int, margin: int):
        self.last_block = last_block
        self.block = block
        self.margin = margin
        super().__init__(
            f"the lock's claim window ends at block {last_block}, {last_block - block} blocks "
            f"after the head ({block}); a claim needs {margin} blocks to land safely: not "
            "claiming (a withdrawal mined past the window fails but publishes the secret); "
            "both sides refund"
        )


class LockMismatch(ExchangeError):
    """Raised when the counterparty's on-chain lock differs from what was agreed."""

    def __init__(self, field: str, expected: object, actual: object, *, message: str = ""):
        self.field = field
        self.expected = expected
        self.actual = actual
        super().__init__(message or f"counterparty lock {field} is {actual!r}, agreed {expected!r}")


class PaymentMismatch(LockMismatch):
    """Raised when the seller's client refuses to claim a payment lock: not Ether, not from the
    buyer, not to the seller, not under the token lock's hashlock, or not exactly the seller's
    share of the price. Claiming would publish the secret, with which the buyer takes the token;
    the seller keeps it (both sides refund after their timelocks)."""

    def __init__(self, field: str, expected: object, actual: object):
        super().__init__(
            field,
            expected,
            actual,
            message=f"payment lock {field}: expected {expected!r}, locked {actual!r}; not "
            "claiming (claiming would publish the secret and let the buyer take the token)",
        )


class SecretNotRevealed(ExchangeError):
    """Raised when the secret of a hash lock has not been published on chain (yet)."""


class TokenNotTradable(ExchangeError):
    """Raised when a trade's token is not active (a revoked copy is frozen and cannot be sold).

    ``code`` is the stable error code the API answers (its subclasses name their own)."""

    code = "token_not_tradable"

    def __init__(self, token_id: int, status: str, *, message: str = ""):
        self.token_id = token_id
        self.status = status
        super().__init__(
            message or f"token 0x{token_id:064x} is {status}: only active tokens are traded"
        )


class AttestationMismatch(TokenNotTradable):
    """Raised when a token's attested fingerprint or detail descriptor is not what its image's
    bytes give (recomputed by the market): its ESP attested another image's values, which makes
    a copy unchallengeable on chain; such a token is neither listed nor sold."""

    code = "attestation_mismatch"

    def __init__(self, token_id: int, *, attested: str, recomputed: str):
        self.attested = attested
        self.recomputed = recomputed
        what = "fingerprint" if attested != recomputed else "detail descriptor"
        super().__init__(
            token_id,
            "misattested",
            message=f"token 0x{token_id:064x}: its ESP attested a {what} that is not its "
            f"image's (attested fingerprint {attested}, the image's {recomputed}): not traded",
        )


class MisattestationClaimOpen(TokenNotTradable):
    """Raised when a mis-attestation claim against the token is open at the BatchCourt
    (``misattestationOf``): upheld, the court revokes the token, and a buyer who paid meanwhile
    holds a revoked token. Not sold until the claim is decided (a rejected or void one no
    longer stands in the way), as under an open challenge."""

    code = "misattestation_claim_open"

    def __init__(self, token_id: int, *, claim_round: int):
        self.round = claim_round
        super().__init__(
            token_id,
            "under a mis-attestation claim",
            message=f"token 0x{token_id:064x} is under an open mis-attestation claim (round "
            f"{claim_round}) at the BatchCourt: upheld, it is revoked; not traded until decided",
        )


class TokenReclaimable(TokenNotTradable):
    """Raised when an earlier payer may still ``reclaim`` the token (within ``registrationWindow
    + commitTtl`` blocks of its reveal or last reclaim, where the Registry's escrow refuses it,
    ``RegistryTokenReclaimable``; an unused older fee lock to its ESP holds it no longer): a
    buyer would lose it to that reclaim. A batch item is held the same from its batch's reveal
    (``BatchTokenReclaimable``: the earlier payer registers and the court's duplicate ruling
    revokes the item). ``until_block`` is the last block a reclaim can land at."""

    code = "token_reclaimable"

    def __init__(self, token_id: int, *, until_block: int):
        self.until_block = until_block
        super().__init__(
            token_id,
            "reclaimable",
            message=f"token 0x{token_id:064x} may still be reclaimed by an earlier payer of "
            f"its bytes until block {until_block} (the chain refuses to move it until "
            "then): not traded before then",
        )


class TradeNotReady(ExchangeError):
    """Raised when a trade is not in a state the requested step needs."""

    def __init__(self, state: str, needed: tuple[str, ...]):
        self.state = state
        self.needed = needed
        super().__init__(f"trade is {state}; this step needs it to be {' or '.join(needed)}")


class UnknownCollection(ExchangeError):
    """Raised when a listing or trade names a token contract the marketplace does not trade
    (only the deployment's Registry and BatchRegistry are collections)."""

    def __init__(self, collection: str, known: tuple[str, ...]):
        self.collection = collection
        self.known = known
        super().__init__(
            f"{collection} is not a collection of this deployment (known: {', '.join(known)})"
        )
