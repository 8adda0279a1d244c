// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IRegistry} from "./IRegistry.sol";
import {IBatchRegistry} from "./IBatchRegistry.sol";

/// @title IBatchCourt: a batched original challenges a single copy (issue 16)
/// @notice The single Registry knows nothing of batches, so an image registered in a batch and
/// later copied into the Registry is challenged here, under the same rules as every other pair:
/// 1. `challenge` (the batch item's owner, a deposit): the item's fingerprint proven against its
///    batch's fingerprint root, the copy's `RecordProof` against its record; admissible when the
///    item's priority (its lock's block) is strictly earlier, it was committed before the copy's
///    fee lock and before its commitment (`CourtCommittedAfterPublication`),
///    another ESP attested the copy (one ESP attesting both is an equivocation: refused, nothing
///    is revoked), and the compact distance is within the threshold.
/// 2. `contest` (the copy's owner, or its seller while the escrow holds it: `IRegistry.escrowerOf`; a deposit) within
///    the dispute window. The copy's detail is public already (its `Registered` event).
/// 3. `resolve` (anyone, while contested): the item's detail opened against its batch's items
///    root (the ordered tree: one leaf per index), the copy's against its record; the detail
///    rule decides. Upheld: the copy is revoked. Rejected: both deposits to the contester.
/// 4. `finalize` (anyone, after the window): uncontested, the copy is revoked; contested and
///    never resolved, the contester takes both deposits (the challenger withheld its detail).
/// A revocation calls the Registry's `revokeCopied` (this court is bound to it once): the copy is
/// revoked at once, its bond comes here and its ESP is slashed (the slash burned at the
/// EspRegistry). Nothing is paid yet (issue 11: a win is held until the winning token is beyond
/// challenge): deposits and bond are held for the Registry's `rewardHoldBlocks`.
/// 5. `settle` (anyone, once): if the batched original was revoked meanwhile, the win is
///    REVERSED: the Registry has no bytes to reinstate the copy, so its side is COMPENSATED with
///    the held deposits and the copy's bond (to the contester, else the copy's owner, its
///    producer while escrowed); its ESP's slash stays burned (paid to the copy's side, one
///    attacker owning both the original and the copy would farm an honest ESP's stake with it).
///    Otherwise, once the hold has passed: the challenger gets the deposits and
///    `challengeReward`; the rest of the bond is burned.
/// A reclaim or revocation of the copy since the challenge voids it (deposits back); an original
/// revoked before the decision loses it. Deposit, threshold, window and hold are the Registry's.
///
/// A single token whose ESP attested another image's fingerprint or descriptor (a plagiarist's
/// own ESP: no challenge of it is admissible, every forum compares the attested values) is
/// answered by `claimMisattested` (anyone, a deposit and the committee's review fee): the
/// committee's jurors recompute both values from the token's content-addressed bytes, and
/// `finalizeMisattested` revokes it on their majority, its ESP's slash burned.
///
/// One image registered twice, once in a batch and once alone, under ONE ESP's attestations (no
/// challenge above can take it: one ESP attesting both is refused) is ruled at once by
/// `revokeDuplicateImage`, anyone calling, on proof that the batch item's opened content hash IS
/// the single token's id (the same bytes): registered twice by the same producer, only a twin
/// the producer holds outright is revoked (both held: the later published registration, reveal
/// block, the single on a tie); neither held (sold, moved, or in the escrow: a sale and a move to
/// the producer's own second account look the same) is refused (`CourtNotOwner(item, producer)`),
/// so no buyer loses a token it paid for; nobody is slashed (the ESP attested the
/// producer's own image twice); registered by two payers, the ESP sold one
/// image twice: the one with the later lock is revoked (the Registry's `reclaim` rule) and the
/// ESP's slash is burned (paid to either payer, two Sybils buying one request twice from an
/// honest ESP would farm it). The caller gets `challengeReward` out of the revoked token's bond;
/// the rest is burned.
interface IBatchCourt {
    /// @notice A challenge of single token `duplicate` by batch item `original`.
    struct Dispute {
        address challenger;
        uint64 deadline; // last block to contest, then (contested) last block to resolve
        // None, Open, Contested, Upheld (-> Settled | Reversed), Rejected or Void; once Upheld,
        // `deadline` is the block from which `settle` may pay the challenger
        IRegistry.DisputeState state;
        address contester;
        uint96 slash; // always 0: every ESP slash is burned at the EspRegistry (kept for the ABI)
        bytes32 recordHash; // the copy's record when challenged: a reclaim since voids the dispute
    }

    /// @notice A mis-attestation claim against single token `tokenId`'s record (`claimMisattested`)
    /// or batch item `tokenId`'s leaves (`claimMisattestedItem`).
    struct Misattestation {
        address claimant;
        uint32 round; // claims of the token so far: the committee's review of this one is the `round`-th
        // None, Open, then Upheld (the token revoked), Rejected or Void
        IRegistry.DisputeState state;
        // the record claimed against (a reclaim since voids the claim); a batch item's
        // keccak256(abi.encode(fingerprint, detailHash, esp)) with its lowest bit set
        bytes32 recordHash;
    }

    /// @notice Emitted when a challenge opens (the compact distance that made it admissible).
    event ChallengeOpened(
        uint256 indexed original, uint256 indexed duplicate, address indexed challenger, uint256 distance, uint64 deadline
    );
    /// @notice Emitted when the copy's owner contests.
    event ChallengeContested(uint256 indexed original, uint256 indexed duplicate, address indexed contester);
    /// @notice Emitted when a challenge is decided (Upheld, Rejected, Void) or settled (Settled,
    /// Reversed).
    event ChallengeDecided(
        uint256 indexed original, uint256 indexed duplicate, IRegistry.DisputeState state, bool contested
    );

    /// @notice Emitted when `revokeDuplicateImage` revokes `revoked`, the second registration of
    /// the image `kept` holds; `twoPayers`: one ESP attested it to two payers (its slash burned).
    event DuplicateImageRevoked(uint256 indexed revoked, uint256 indexed kept, address indexed caller, bool twoPayers);

    /// @notice Emitted when `claimant` claims that `esp` mis-attested token `tokenId`'s record;
    /// `key` is the committee's review of the record.
    event MisattestationClaimed(uint256 indexed tokenId, address indexed claimant, address indexed esp, bytes32 key);
    /// @notice Emitted when a mis-attestation claim opens batch item `tokenId` (as the
    /// BatchRegistry's event of the same name): its content hash and attested descriptor, proven
    /// against the batch's items root, for the jurors (its manifest may never be published).
    event ItemOpened(uint256 indexed tokenId, bytes32 contentHash, uint256 seed, bytes detail);
    /// @notice Emitted when a mis-attestation claim is decided (Upheld: the token revoked, its
    /// ESP slashed; Rejected; Void).
    event MisattestationDecided(uint256 indexed tokenId, address indexed claimant, IRegistry.DisputeState state);
    /// @notice The deposit sent is not the required one.
    error CourtWrongValue(uint256 sent, uint256 required);
    /// @notice `tokenId` is not an existing item of the BatchRegistry (or token of the Registry).
    error CourtUnknownToken(uint256 tokenId);
    /// @notice `tokenId` is revoked.
    error CourtTokenRevoked(uint256 tokenId);
    /// @notice A fingerprint, record or opening proof does not match `tokenId`'s stored roots or record.
    error CourtBadProof(uint256 tokenId);
    /// @notice The caller does not own `tokenId` (or answer for it).
    error CourtNotOwner(uint256 tokenId, address caller);
    /// @notice The original's priority is not strictly earlier than the copy's.
    error CourtChallengeOutOfOrder(uint256 original, uint256 duplicate);
    /// @notice One ESP attested both (an equivocation): priority cannot decide, nothing is revoked.
    error CourtSameEsp(uint256 original, uint256 duplicate, address esp);
    /// @notice The original was committed at or after the copy's fee lock or commitment (the earlier of
    /// the two is `duplicateCommittedAt`).
    error CourtCommittedAfterPublication(uint256 original, uint64 committedAt, uint64 duplicateCommittedAt);
    /// @notice The compact fingerprints are farther apart than the threshold.
    error CourtNotAdmissible(uint256 original, uint256 duplicate, uint256 distance);
    /// @notice The pair was already challenged (and neither voided nor reversed).
    error CourtDisputeExists(uint256 original, uint256 duplicate, IRegistry.DisputeState state);
    /// @notice The challenge is not in the state this step needs.
    error CourtDisputeState(uint256 original, uint256 duplicate, IRegistry.DisputeState state);
    /// @notice Too late to contest, or too early to finalize.
    error CourtDisputeWindow(uint256 original, uint256 duplicate, uint64 deadline);
    /// @notice `settle` before the reward hold passed (and the batched original is not revoked).
    error CourtRewardHeld(uint256 duplicate, uint64 releasableAtBlock);
    /// @notice `reinstate` of a win whose winner is not revoked.
    error CourtWinnerActive(uint256 original);
    /// @notice An Ether payment failed (no longer raised: a refused payment is kept for
    /// `withdrawOwed`).
    error CourtTransferFailed(address to, uint256 amount);
    /// @notice The batch item's opened content hash is not the single token's id: not one image.
    error CourtNotSameImage(uint256 item, uint256 single);
    /// @notice Two ESPs attested the two registrations: a challenge decides, not this ruling.
    error CourtNotSameEsp(uint256 item, uint256 single);

    /// @notice Opens a challenge of single `duplicate` (record proof `b`) by batch item `original`
    /// (fingerprint `fpA`, proof `proofA` against its batch's fingerprint root); send the
    /// Registry's `challengeDeposit`.
    function challenge(
        uint256 original,
        bytes32 fpA,
        bytes32[] calldata proofA,
        uint256 duplicate,
        IRegistry.RecordProof calldata b
    ) external payable;
    /// @notice Claims that the ESP of single token `tokenId` attested a fingerprint or detail
    /// descriptor that are not its content's (`b`: its record proof; the token Active,
    /// `CourtUnknownToken`, `CourtTokenRevoked`, `CourtBadProof`; one open claim per token,
    /// `CourtDisputeExists(0, tokenId, Open)`). Send `challengeDeposit` plus the committee's
    /// `reviewFee` (`CourtWrongValue` when not above the deposit), forwarded to the committee's
    /// `requestRecordReview` with the caller as requester (a fee without a quorum is refunded to
    /// it there). No forum can check a record against its image (the chain has no bytes), so the
    /// jurors do: the token id is the content hash, the bytes authenticate themselves. Returns the
    /// review's key. Needs a deployment whose detail verifier is the `CommitteeVerifier`.
    function claimMisattested(uint256 tokenId, IRegistry.RecordProof calldata b)
        external
        payable
        returns (bytes32 key);
    /// @notice Decides an open mis-attestation claim (anyone, once the review's reveal deadline
    /// passed or its draw cancelled it; else `CourtDisputeWindow(0, tokenId, revealDeadline)`;
    /// `b` the record proof claimed against, `CourtBadProof`). The token reclaimed or revoked
    /// since, the review cancelled or without a quorum: Void, the deposit back. A majority
    /// "mis-attested": Upheld, the token revoked for good (the Registry's `revokeCopied` with
    /// original 0: its content hash stays taken), its ESP slashed (burned: paid to the claimant, a
    /// plagiarist would farm it from its own ESP), the claimant gets at once (no winner token a
    /// later revocation could reverse) its deposit, `challengeReward` and back the committee's
    /// `reviewFee` it paid the jurors, both out of the copy's bond and never more than it (a batch
    /// item's: `bondPerItem`), the rest of the bond burned: an honest claimant loses only its gas
    /// (at the defaults the reward and the fee are the whole bond). Otherwise Rejected: the deposit to the token's owner (its seller while
    /// escrowed). A new claim may follow a Rejected or Void one (its own review round).
    function finalizeMisattested(uint256 tokenId, IRegistry.RecordProof calldata b)
        external
        returns (IRegistry.DisputeState state);
    /// @notice `claimMisattested` for batch item `tokenId` (a plagiarist's copy registered in a
    /// batch its own ESP attested with another image's values): the claimant opens the item,
    /// its attested fingerprint `fp` with `fpProof` against the batch's fingerprint root, its
    /// attested descriptor `detail` and `o` (content hash, seed, ordered proof; `o.record`
    /// unused) against the items root (`CourtUnknownToken`, `CourtTokenRevoked`,
    /// `CourtBadProof`), emitted as `ItemOpened`; the committee's record review names `fp`,
    /// `keccak256(detail)` and the batch's ESP (never drawn), and the jurors judge the bytes
    /// whose canonical hash is `o.contentHash`. Same deposit, fee, rounds and errors as
    /// `claimMisattested`; `finalizeMisattested` decides it with the record proof
    /// (`fp`, `keccak256(detail)`, the batch's ESP, the blocks 0): the item revoked since is Void;
    /// Upheld revokes it at the BatchRegistry (`revokeCopied` with original 0, the ESP's slash
    /// burned, the whole item's bond sent to the court, which pays the claimant as for a single
    /// token and burns the rest); Rejected pays the deposit to the item's owner (while
    /// the escrow holds it, its batch's producer: the BatchRegistry keeps its escrowers private).
    function claimMisattestedItem(
        uint256 tokenId,
        bytes32 fp,
        bytes32[] calldata fpProof,
        bytes calldata detail,
        IBatchRegistry.ItemOpening calldata o
    ) external payable returns (bytes32 key);
    /// @notice The latest mis-attestation claim against `tokenId`.
    function misattestationOf(uint256 tokenId) external view returns (Misattestation memory);
    /// @notice Contests an open challenge (the copy's owner, or its producer while escrowed);
    /// send `challengeDeposit`. The resolve window starts.
    function contest(uint256 original, uint256 duplicate) external payable;
    /// @notice Decides a contested challenge with the detail rule over the item's opened detail
    /// (`a`: content hash, seed, ordered proof) and the copy's (its record proof `b`).
    function resolve(
        uint256 original,
        uint256 duplicate,
        bytes calldata detailA,
        IBatchRegistry.ItemOpening calldata a,
        bytes calldata detailB,
        IRegistry.RecordProof calldata b
    ) external returns (bool upheld);
    /// @notice Decides a challenge whose window passed (`b`: the copy's record proof, which names
    /// its ESP for the slash).
    function finalize(uint256 original, uint256 duplicate, IRegistry.RecordProof calldata b)
        external
        returns (bool upheld);
    /// @notice Settles an upheld challenge (anyone may call, once). If the batched original is
    /// revoked: state Reversed, the held deposits (two if contested) and the copy's bond to the
    /// contester, else to the copy's owner (its producer while escrowed).
    /// Otherwise reverts `CourtRewardHeld` before the dispute's `deadline` (decision block +
    /// the Registry's `rewardHoldBlocks`); after it, state Settled: the challenger gets the
    /// deposits and `challengeReward`, the rest of the bond is burned. Reverts
    /// `CourtDisputeState` unless the challenge is `Upheld`.
    function settle(uint256 original, uint256 duplicate) external;
    /// @notice Reverses a win settled after the hold whose batched winner `original` was revoked
    /// since (as a copy): the single `duplicate` it revoked is active again at the Registry
    /// (`Reinstated`, `MetadataUpdate`; the dispute `Reversed`), backed by the bond the caller
    /// posts (`msg.value` == the Registry's bond; anyone may call, typically the duplicate's
    /// owner: its first bond was paid out and burned at `settle`), as `IRegistry.reinstate`
    /// for the Registry's own wins. Reverts `CourtWrongValue`, `CourtDisputeState` unless the
    /// dispute is `Settled`, `CourtWinnerActive` unless `original` is revoked.
    function reinstate(uint256 original, uint256 duplicate) external payable;
    /// @notice `revokeDuplicateImage` for one image held as two batch items, `first` and `second`
    /// (each opened with its detail hash against its batch's items root, to the same content
    /// hash), both attested by one ESP: two payers, the item with the later lock is revoked and
    /// the ESP's slash burned; one producer, the twin it holds outright (both held: the later
    /// published). The caller gets `challengeReward`; returns the revoked id. Reverts as
    /// `revokeDuplicateImage` (`CourtNotSameImage` for one item named twice or two contents).
    function revokeDuplicateItem(
        uint256 first,
        bytes32 firstDetailHash,
        IBatchRegistry.ItemOpening calldata firstOpening,
        uint256 second,
        bytes32 secondDetailHash,
        IBatchRegistry.ItemOpening calldata secondOpening
    ) external returns (uint256 revoked);
    /// @notice Revokes the second registration of one image held both as batch item `item` and as
    /// single token `single`, both attested by one ESP (see the contract's notes): `detailHash`
    /// and `opening` (content hash, seed, ordered proof; `record` unused) open the item against
    /// its batch's items root, `b` is the single's record proof. Returns the revoked token id.
    /// Reverts `CourtNotSameImage` unless the opened content hash is `single`, `CourtNotSameEsp`
    /// when two ESPs attested them, `CourtChallengeOutOfOrder` when two payers' locks share a
    /// block, `CourtNotOwner(item, producer)` when one producer registered both and holds
    /// neither outright, `CourtTokenRevoked` / `CourtUnknownToken` / `CourtBadProof` as `challenge`.
    function revokeDuplicateImage(
        uint256 item,
        bytes32 detailHash,
        IBatchRegistry.ItemOpening calldata opening,
        uint256 single,
        IRegistry.RecordProof calldata b
    ) external returns (uint256 revoked);
    /// @notice The challenge of `duplicate` by `original`.
    function disputeOf(uint256 original, uint256 duplicate) external view returns (Dispute memory);
    /// @notice The BatchRegistry whose items challenge here.
    function batchRegistry() external view returns (IBatchRegistry);
    /// @notice The Registry whose tokens this court can revoke.
    function registry() external view returns (IRegistry);

    /// @notice Pays the caller the Ether it refused when it was due: a deposit or compensation
    /// its address rejected was kept for it instead of reverting, so a refusing party cannot
    /// block a decision that pays the other side too.
    function withdrawOwed() external;
}
