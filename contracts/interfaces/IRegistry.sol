// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHashTimeLock} from "./IHashTimeLock.sol";

/// @title IRegistry: Proof-of-AIGC v2, each registered image an ERC-721 token.
/// @notice Protocol:
/// 1. `commit(keccak256(abi.encode(contentHash, fingerprint, keccak256(detail), owner, salt)))`
///    with the registration bond; a commitment not revealed within `commitTtl` blocks is
///    forfeited (`forfeitCommit` burns its bond), so committing many candidates and revealing only
///    the winners costs a bond per loser;
/// 2. at least one block later and within `commitTtl` blocks, `reveal(r, lock, detail, sig)`: the
///    generation lock `lock` (the producer's fee lock to the ESP) must be paid (withdrawn); its
///    sender is the owner and its receiver the attesting ESP (the attestation binds to the lock's
///    sender as the only registrant),
///    created while the ESP was active; committed to within `registrationWindow` blocks of its
///    creation, the token's priority is the lock's block, later it is the commit's own block (the
///    ESP then active at the commit too: a late delivery registers, an old lock back-dates
///    nothing); `sig` is the ESP's EIP-712 attestation over
///    `Attestation(taskId = lock id, producer, contentHash, fingerprint, detailHash, modelId, seed)`.
///    The token id is `uint256(contentHash)` (an exact duplicate is refused in O(1)); the token's
///    challenge **priority is the lock's block**, so neither the ESP nor a watcher of the mempool
///    can pre-empt the producer who paid for the generation. The record stores one slot: a hash of
///    (fingerprint, detailHash, esp, priorityBlock) and the status; the fields are in the
///    `Registered` event and come back as calldata (`RecordProof`) when a challenge needs them.
/// 3. two-stage challenge: the owner of an earlier token A (strictly smaller priority; and, when
///    another ESP attested B, A committed strictly before B's fee lock and commit blocks, so
///    nobody can carry a published, pending or leaked image under an older lock of its own) opens `challenge(A, B, proofA, proofB)` with
///    a deposit; it is admissible only if the compact fingerprints match (`FingerprintRule`). B's owner may `contest` within `disputeWindow`
///    blocks with the same deposit; then anyone may `resolve` with both detail descriptors and
///    `DetailRule` decides. Uncontested, `finalize` revokes B after the window. When one ESP
///    attested both images, priority cannot decide (it chose whose lock is older): the dispute
///    is an equivocation, nothing is revoked (uncontested: Void; contested by either owner and
///    matched: Equivocated, deposits back, the ESP slashed half to each owner). A dispute whose
///    tokens were reclaimed since it opened ends Void (and the pair may be challenged again).
/// 4. a revoked token's bond, and the winner's deposits, are held for `rewardHoldBlocks` (at least
///    two dispute windows, two blocks and the committee's review phases + 3, checked at
///    deployment: a challenge of A opened within a window of its win is decided before A may
///    settle, even contested with a review): if A is
///    itself revoked in that time, `settle` reinstates B (a revoked original's wins are reversed)
///    and pays the held deposits to B's side; otherwise `settle` returns the challenger's deposits
///    with `challengeReward` (its costs, not a profit), burns the rest of the bond and reports B's
///    ESP to the ESP registry.
/// The bond of an active token stays at stake for the token's life.
/// Revoked tokens cannot be transferred (except out of the hash-time-lock escrow, so an escrowed
/// token is never stuck), listed, or used to challenge.
interface IRegistry {
    /// @notice A registration's status.
    enum Status {
        None,
        Active,
        Revoked
    }

    /// @notice A challenge's life: Open -> (Contested ->) Upheld -> Settled (-> Reversed by
    /// `reinstate`) | Reversed, or Rejected / Void;
    /// when one ESP attested both images: Open -> Void, or Open -> Contested -> Equivocated | Rejected / Void.
    enum DisputeState {
        None,
        Open,
        Contested,
        Upheld,
        Rejected,
        Void,
        Settled,
        Reversed,
        Equivocated
    }

    /// @notice What a token's stored hash commits to (from its `Registered` event and its block).
    struct RecordProof {
        bytes32 fingerprint;
        bytes32 detailHash;
        address esp;
        uint64 priorityBlock;
        uint64 commitBlock;
        uint64 revealBlock;
    }

    /// @notice What the chain keeps per token (the content hash is the token id).
    struct Record {
        bytes32 recordHash; // keccak256(abi.encode(RecordProof)) with its lowest eight bytes cleared
        address producer;
        Status status;
    }

    /// @notice A challenge of `duplicate` by `original` (one per ordered pair, unless it ended Void
    /// or Reversed: a reversal, its winner revoked then, decided nothing about the pair).
    struct Dispute {
        address challenger;
        uint64 deadline; // last block to contest; once upheld, the block the revocation settles
        DisputeState state;
        bool equivocal; // one ESP attested both images: priority cannot decide
        uint8 epochOriginal; // the tokens' reclaim counts when challenged: a reclaim since voids it
        uint8 epochDuplicate;
        address contester;
    }

    /// @notice The reveal's public data (the owner is the generation lock's sender, the ESP its
    /// receiver).
    struct Registration {
        bytes32 contentHash;
        bytes32 fingerprint;
        bytes32 salt;
        bytes32 modelId;
        uint256 seed;
        string metadataURI;
    }

    /// @notice The deployment parameters.
    struct Parameters {
        uint256 bond;
        uint256 challengeDeposit;
        uint256 challengeReward;
        uint256 matchThreshold;
        uint64 commitTtl;
        uint64 registrationWindow;
        uint64 disputeWindow;
        uint64 rewardHoldBlocks;
        uint96 royaltyBps;
    }

    /// @notice Emitted when a commitment (and its bond) is recorded.
    event Committed(bytes32 indexed commitment, address indexed committer, uint64 blockNumber);
    /// @notice Emitted when an expired commitment's bond is burned.
    event CommitForfeited(bytes32 indexed commitment, uint256 bond);
    /// @notice Emitted when an image is registered (and its token minted to `producer`); `detail`
    /// is the descriptor that decides a contested challenge (its keccak256 is the detail hash).
    event Registered(
        uint256 indexed tokenId,
        address indexed producer,
        address indexed esp,
        bytes32 fingerprint,
        bytes32 taskId,
        uint64 priorityBlock,
        uint64 commitBlock,
        bytes32 modelId,
        uint256 seed,
        string metadataURI,
        bytes detail
    );
    /// @notice Emitted when an admissible challenge is opened.
    event ChallengeOpened(
        uint256 indexed original, uint256 indexed duplicate, address indexed challenger, uint256 distance, uint64 deadline
    );
    /// @notice Emitted when the accused contests a challenge.
    event ChallengeContested(uint256 indexed original, uint256 indexed duplicate, address indexed contester);
    /// @notice Emitted when a challenge is decided (`state`: Upheld, Rejected or Void).
    event ChallengeDecided(uint256 indexed original, uint256 indexed duplicate, DisputeState state, bool contested);
    /// @notice Emitted when an earlier payer reclaims a token whose exact bytes a later payer
    /// registered first (followed by the new `Registered`).
    event Reclaimed(uint256 indexed tokenId, address indexed from, address indexed to);
    /// @notice Emitted when a token is revoked.
    event Revoked(uint256 indexed tokenId, uint256 indexed original);
    /// @notice Emitted when a revoked token comes back because the token that revoked it was revoked.
    event Reinstated(uint256 indexed tokenId, uint256 indexed original);
    /// @notice Emitted when a revocation's held bond is paid out: `reward` to the challenger, `burned`.
    event RevocationSettled(uint256 indexed duplicate, address indexed challenger, uint256 reward, uint256 burned);
    /// @notice ERC-4906: the token's metadata changed (revoked, reinstated, or reclaimed by an
    /// earlier payer), so marketplaces refresh it.
    event MetadataUpdate(uint256 _tokenId);
    /// @notice ERC-4906: the metadata of tokens `_fromTokenId`..`_toTokenId` changed (all of them,
    /// 0..2^256-1, when the owner moves the base URI).
    event BatchMetadataUpdate(uint256 _fromTokenId, uint256 _toTokenId);
    /// @notice ERC-7572: the collection metadata at `contractURI()` changed.
    event ContractURIUpdated();

    /// @notice The commitment was already made.
    error RegistryCommitExists(bytes32 commitment);
    /// @notice No such commitment (never made, already revealed, or wrong fields/salt).
    error RegistryUnknownCommit(bytes32 commitment);
    /// @notice Reveal in the commit's own block.
    error RegistryRevealTooEarly(bytes32 commitment, uint64 committedBlock);
    /// @notice Reveal after the commitment expired.
    error RegistryCommitExpired(bytes32 commitment, uint64 expiredAtBlock);
    /// @notice The commitment has not expired yet (it cannot be forfeited).
    error RegistryCommitNotExpired(bytes32 commitment, uint64 expiresAtBlock);
    /// @notice The token left the swap escrow `commitTtl + 1` blocks ago or less: it may be
    /// listed again from block `untilBlock + 1` (an earlier payer's `reclaim` has its turn).
    error RegistryRelistTooSoon(uint256 tokenId, uint64 untilBlock);
    /// @notice Wrong bond or deposit.
    error RegistryWrongValue(uint256 sent, uint256 required);
    /// @notice The same content is already registered.
    error RegistryDuplicateContent(uint256 tokenId);
    /// @notice The fingerprint is degenerate (a flat or blank image).
    error RegistryDegenerateFingerprint(bytes32 fingerprint);
    /// @notice The detail descriptor has the wrong length or is malformed.
    error RegistryInvalidDetail(uint256 length);
    /// @notice The ESP was not active when the generation lock was created.
    error RegistryEspNotRegistered(address esp);
    /// @notice The attestation was not signed by the named ESP (wrong signer, chain or contract).
    error RegistryInvalidAttestation(address esp, address recovered);
    /// @notice The content hash is zero.
    error RegistryInvalidRegistration();
    /// @notice The generation lock holds a token, not a fee.
    error RegistryLockMismatch(bytes32 lockId, address sender, address receiver);
    /// @notice The generation lock was not paid to the ESP (not withdrawn).
    error RegistryLockNotPaid(bytes32 lockId, IHashTimeLock.Status status);
    /// @notice The commitment came more than `registrationWindow` blocks after the lock (no longer
    /// raised: such a registration now takes its commit block as priority; kept for decoding).
    error RegistryRegistrationTooLate(bytes32 lockId, uint64 lastCommitBlock);
    /// @notice The token does not exist.
    error RegistryUnknownToken(uint256 tokenId);
    /// @notice The token sits in the hash-time-lock escrow; reclaim it once the lock settles.
    error RegistryTokenEscrowed(uint256 tokenId);
    /// @notice An earlier payer of the token's bytes may still `reclaim` it (from whoever holds
    /// it) until block `untilBlock`, `registrationWindow + commitTtl` blocks after its reveal or
    /// last reclaim: it may enter the swap escrow (be sold) from block `untilBlock + 1`.
    error RegistryTokenReclaimable(uint256 tokenId, uint64 untilBlock);
    /// @notice The token is revoked.
    error RegistryTokenRevoked(uint256 tokenId);
    /// @notice The winner of a settled dispute is still active: its win stands (`reinstate`).
    error RegistryWinnerActive(uint256 original);
    /// @notice Only the owner of the original may challenge with it (the accused's owner contests).
    error RegistryNotOwner(uint256 tokenId, address caller);
    /// @notice The original's priority is not strictly before the duplicate's.
    error RegistryChallengeOutOfOrder(uint256 original, uint256 duplicate);
    /// @notice The original (attested by another ESP) was committed no earlier than the
    /// duplicate's fee lock or commitment (`duplicateCommittedAt` is the earlier of the two):
    /// it may be a copy of the duplicate's published (or pending, or leaked) image, registered
    /// under an older lock. Neither side revokes the other: a stalemate.
    error RegistryCommittedAfterPublication(uint256 original, uint64 committedAt, uint64 duplicateCommittedAt);
    /// @notice A token cannot challenge itself.
    error RegistrySelfChallenge(uint256 tokenId);
    /// @notice The proof does not match the token's stored record hash.
    error RegistryBadProof(uint256 tokenId);
    /// @notice The compact fingerprints are beyond the threshold: the challenge is not admissible.
    error RegistryNotAdmissible(uint256 original, uint256 duplicate, uint256 distance);
    /// @notice A challenge of this pair exists (or existed: one per ordered pair).
    error RegistryDisputeExists(uint256 original, uint256 duplicate, DisputeState state);
    /// @notice The challenge is not in the state this step needs.
    error RegistryDisputeState(uint256 original, uint256 duplicate, DisputeState state);
    /// @notice The contest window is closed (contest) or still open (finalize).
    error RegistryDisputeWindow(uint256 original, uint256 duplicate, uint64 deadline);
    /// @notice The revoked token's bond is still held.
    error RegistryRewardHeld(uint256 duplicate, uint64 releasableAtBlock);
    /// @notice The token was reclaimed 255 times: its reclaim count (which voids disputes opened
    /// before a reclaim) cannot grow further.
    error RegistryReclaimLimit(uint256 tokenId);
    /// @notice An Ether payment failed (no longer raised: a refused payment is kept for
    /// `withdrawOwed`; no event, for EIP-170's bytes).
    error RegistryTransferFailed(address to, uint256 amount);
    /// @notice The caller is not the deployment's court (or the token is not active).
    error RegistryUnauthorizedCourt(address caller);

    /// @notice Records a commitment to a registration; `msg.value` must be the bond.
    function commit(bytes32 commitment) external payable;
    /// @notice Burns the bond of a commitment that expired unrevealed (anyone may call).
    function forfeitCommit(bytes32 commitment) external;
    /// @notice Reveals a committed registration backed by its paid generation lock and the ESP's
    /// attestation; mints token `uint256(contentHash)` to `r.owner`. Anyone may relay it, but only
    /// the registrant (the lock's sender) may pass a non-empty `r.metadataURI` (else a bare revert).
    function reveal(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes calldata detail,
        bytes calldata attestation
    ) external returns (uint256 tokenId);
    /// @notice Registers content whose exact bytes a later payer registered first: with the same
    /// checks as `reveal`, plus the existing token's proof showing a strictly later priority (and,
    /// across ESPs, a fee lock and commitment after this commitment), the token moves to the earlier payer, the
    /// taker's bond is burned, and an ESP that attested the image to both is reported. Refused
    /// while the escrow holds the token (`RegistryTokenEscrowed`); the registration window of the
    /// reclaim's lock is extended by the blocks the token has spent in the escrow, so listing it
    /// until the window closed does not keep it from the earlier payer.
    function reclaim(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes calldata detail,
        bytes calldata attestation,
        RecordProof calldata existing
    ) external returns (uint256 tokenId);
    /// @notice Opens a challenge of `duplicate` by `original` (caller owns `original`) with the deposit.
    function challenge(uint256 original, uint256 duplicate, RecordProof calldata a, RecordProof calldata b)
        external
        payable;
    /// @notice The duplicate's owner contests an open challenge with the deposit, within the window.
    function contest(uint256 original, uint256 duplicate) external payable;
    /// @notice Decides a contested challenge with both detail descriptors (anyone may call).
    function resolve(
        uint256 original,
        uint256 duplicate,
        RecordProof calldata a,
        RecordProof calldata b,
        bytes calldata detailA,
        bytes calldata detailB
    ) external returns (bool upheld);
    /// @notice Decides an uncontested challenge once its window has passed (anyone may call).
    function finalize(uint256 original, uint256 duplicate) external returns (bool upheld);
    /// @notice Settles a revocation's held bond and deposits: reinstates `duplicate` (deposits to
    /// its side) if `original` was revoked meanwhile, else (after `rewardHoldBlocks`) returns the
    /// challenger's deposits with its reward and burns the rest of the bond.
    /// `b` (the duplicate's record proof) names the ESP, reported to the ESP registry on settlement,
    /// which slashes part of its stake to the challenger (`IEspRegistry.recordChallengeUpheld`).
    function settle(uint256 original, uint256 duplicate, RecordProof calldata b) external;
    /// @notice Reverses a settled win whose winner `original` was revoked since (as a copy): the
    /// token it revoked, `duplicate`, is active again (`Reinstated`, `MetadataUpdate`), backed by
    /// the bond the caller posts (`msg.value` == bond; anyone may call, typically the duplicate's
    /// owner: its first bond was paid out and burned at `settle`). Once per dispute (it becomes
    /// Reversed); only for a Settled dispute whose winner is Revoked.
    function reinstate(uint256 original, uint256 duplicate) external payable;
    /// @notice Who put `tokenId` in the hash-time-lock escrow last (its seller; zero if nobody
    /// has): while the escrow holds the token, it answers for it (contests its challenges), here
    /// and at the BatchCourt.
    function escrowerOf(uint256 tokenId) external view returns (address);
    /// @notice Called by the court fixed at deployment (the BatchCourt, where a batched original
    /// challenges a single copy: issue 16) when its challenge of single `duplicate` by the
    /// batched `original` is upheld: revokes it, reports `esp` (the copy's attesting ESP, from its
    /// record proof) to the ESP registry, which slashes it to `challenger`, and sends the copy's
    /// bond to the court, which pays `challengeReward` to `challenger` and burns the rest. The
    /// court also calls it with `esp` zero (no ESP is reported) when it revokes the second
    /// registration of one producer's own image (`IBatchCourt.revokeDuplicateImage`).
    /// Reverts `RegistryUnauthorizedCourt` for any other caller or a token that is not active.
    function revokeCopied(uint256 duplicate, uint256 original, address esp, address challenger) external;
    /// @notice The court's `reinstate`: `duplicate`, revoked by the court's `revokeCopied` for a
    /// win it settled, is active again (`Reinstated`, `MetadataUpdate`) because that winner,
    /// `original`, was revoked since; `msg.value` (the bond, posted by the court's caller) backs
    /// it again. Reverts `RegistryUnauthorizedCourt` for any other caller, another value or a
    /// token that is not revoked.
    function undoRevokeCopied(uint256 duplicate, uint256 original) external payable;

    /// @notice Pays the caller the Ether it refused: a deposit, compensation or reward that could
    /// not be paid when due (the caller's address rejected it) was kept for it instead of
    /// reverting, so a party refusing Ether cannot block a decision (a contester contract could
    /// block an equivocation's `resolve` for good). Nothing is paid when nothing is owed; a
    /// refusal now keeps it owed.
    function withdrawOwed() external;

    /// @notice The stored record of `tokenId`.
    function recordOf(uint256 tokenId) external view returns (Record memory);
    /// @notice The challenge of `duplicate` by `original`.
    function disputeOf(uint256 original, uint256 duplicate) external view returns (Dispute memory);
    /// @notice The block a commitment was made in (0 if none).
    function commitBlock(bytes32 commitment) external view returns (uint64);
    /// @notice The commitment for these fields.
    function commitmentFor(bytes32 contentHash, bytes32 fingerprint, bytes32 detailHash, address owner, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice The record hash a token stores for these fields (lowest eight bytes cleared: the
    /// status, the count of reclaims and the block the record was written).
    function recordHashOf(RecordProof calldata p) external pure returns (bytes32);
    /// @notice The EIP-712 digest an ESP signs for an attestation.
    function attestationDigest(
        bytes32 taskId,
        address producer,
        bytes32 contentHash,
        bytes32 fingerprint,
        bytes32 detailHash,
        bytes32 modelId,
        uint256 seed
    ) external view returns (bytes32);
    /// @notice The compact (admissibility) distance of two fingerprints (see FingerprintRule).
    function fingerprintDistance(bytes32 a, bytes32 b) external pure returns (uint256);
    /// @notice Whether two compact fingerprints match under the deployed threshold.
    function fingerprintsMatch(bytes32 a, bytes32 b) external view returns (bool);
    /// @notice Whether two detail descriptors match (see DetailRule): what decides a contested challenge.
    function detailsMatch(bytes calldata a, bytes calldata b) external view returns (bool);
    /// @notice Whether a fingerprint is degenerate (refused at registration).
    function isDegenerateFingerprint(bytes32 fp) external pure returns (bool);
    /// @notice Sets the prefix of `tokenURI` (token id in decimal appended) for tokens registered
    /// without their own URI; only the owner; emits `BatchMetadataUpdate(0, 2^256-1)`.
    function setBaseURI(string calldata uri) external;
    /// @notice Sets the ERC-7572 collection metadata URI; only the owner; emits `ContractURIUpdated`.
    function setContractURI(string calldata uri) external;
    /// @notice The prefix of `tokenURI` (the token id in decimal follows).
    function baseURI() external view returns (string memory);
    /// @notice ERC-7572: the collection metadata JSON's URI.
    function contractURI() external view returns (string memory);
    /// @notice The deployment parameters.
    function parameters() external view returns (Parameters memory);
    /// @notice The length in bytes of a detail descriptor (`DetailRule.LENGTH`).
    function detailLength() external view returns (uint256);
}
