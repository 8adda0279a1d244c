// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IHashTimeLock} from "./IHashTimeLock.sol";
import {IRegistry} from "./IRegistry.sol";

/// @title IBatchRegistry: Proof-of-AIGC for a batch of images in one commit and one reveal.
/// @notice A separate ERC-721 collection beside the single-image `Registry` (which is at the
/// EIP-170 size limit and whose ids are content hashes, never consecutive). Token ids are
/// `(batchId << 32) | index`, batchId from 1, index 0..count-1: below 2^96, so they never meet a
/// Registry id (a sha256) in a shared table.
/// Protocol:
/// 1. `commit(keccak256(abi.encode(itemsRoot, fingerprintsHash, uint256(count), owner, salt)), count)`
///    with `bondPerItem * count`; unrevealed after `commitTtl` blocks, `forfeitCommit` burns it.
/// 2. at least one block later, `reveal(r, fingerprints, lock, espSignature)` by the owner:
///    the fingerprints (strictly increasing, none degenerate, so none repeated inside the batch)
///    are hashed on chain into `fpRoot` (leaf i = keccak256(keccak256(abi.encode(i, fp)))); the
///    producer's `itemsRoot` commits to each item's (index, contentHash, detailHash, seed) and is
///    not checked here: whoever needs an item's detail in a dispute proves it against it. It is an
///    ordered tree (parent = keccak256(left || right)) whose proofs are checked against the item's
///    index and the batch's count, so each index has exactly one opening. The
///    generation lock must be a paid Ether fee from the owner to the ESP, made while the ESP was
///    active and at most `registrationWindow` blocks before the commit; the ESP signs one EIP-712
///    `BatchAttestation(taskId = lock id, producer, itemsRoot, fpRoot, count, modelId)` (EOA or
///    ERC-1271). Every item's priority is the lock's block. A lock registers one batch. One
///    `ConsecutiveTransfer` (ERC-2309) mints the whole batch to the owner.
/// 3. a batch item B can be challenged by the owner of an earlier item A (`challenge`, A a batch
///    item) or an earlier single Registry token (`challengeWithSingle`), with a deposit: A's
///    priority strictly before B's, A committed strictly before B, different ESPs (one ESP that
///    attested both is an equivocation, the single Registry's business), compact fingerprints
///    proven against the roots and matching (`FingerprintRule`). B's owner may `contest` within
///    `disputeWindow` blocks by opening its own item (detail, content hash, seed, proven against
///    B's items root; `ItemOpened` publishes it); then anyone `resolve`s with A's detail, proven
///    against A's items root (or A's Registry record), and the detail B opened, and the detail
///    rule decides. Uncontested, `finalize` revokes B after the window; contested and unresolved
///    for another window, `finalize` rejects the challenge and pays the contester both deposits.
///    Each side opens its own item, so withholding loses: a contester that cannot open B cannot
///    contest, and a challenger that does not open A (it alone may hold A's data) cannot win a
///    contested challenge. A revocation revokes B at once (every other item of the batch is
///    untouched) and pays nothing yet: the challenger's deposit(s) and B's item bond are held for
///    `rewardHoldBlocks` (issue 11: a win is held until the winning token is beyond challenge).
/// 4. `settle` (anyone, once): if A was itself revoked meanwhile (a batch item's revoked bit, or
///    a single original's Registry status), the win is REVERSED: B is reinstated (`Reinstated`),
///    its bond backs it again, the held deposits go to B's contester, else to B's owner (its
///    producer while escrowed), and nobody is slashed. Otherwise, once the hold has passed, the
///    challenger gets its deposit(s) and `challengeReward` out of B's bond, the rest of that bond
///    is burned (it stays in this contract, which has no function that could move it), and B's
///    ESP is slashed to the challenger.
/// Exact duplicates of Registry tokens are not refused at reveal (no per-item storage fits the
/// gas budget): an identical image has distance 0 and is revoked by a challenge.
/// Revoked tokens cannot be transferred (except out of the hash-time-lock escrow), listed, or used
/// to challenge.
interface IBatchRegistry is IERC721Errors {
    /// @notice A token's status.
    enum Status {
        None,
        Active,
        Revoked
    }

    /// @notice A challenge's life: Open -> (Contested ->) Upheld -> Settled | Reversed, or
    /// Rejected / Void (the Registry's values 0..7).
    enum DisputeState {
        None,
        Open,
        Contested,
        Upheld, // B revoked; deposits and bond held until `settle`
        Rejected,
        Void,
        Settled, // the hold passed: the challenger paid, B's ESP slashed (`settle`)
        Reversed // A was revoked within the hold: B reinstated, its side paid (`settle`)
    }

    /// @notice The reveal's public data besides the fingerprints.
    struct BatchReveal {
        bytes32 itemsRoot;
        bytes32 salt;
        bytes32 modelId;
        string metadataURI;
    }

    /// @notice What the chain keeps per batch.
    struct Batch {
        bytes32 fpRoot;
        bytes32 itemsRoot;
        address owner; // the producer: initial owner and royalty receiver of every item
        address esp;
        uint32 count;
        uint64 priorityBlock;
        uint64 commitBlock;
        uint64 revealBlock;
    }

    /// @notice An item's opening in `contest` and `resolve`: the item leaf (index, contentHash,
    /// keccak256(detail), seed) and its proof against the batch's ordered `itemsRoot` (siblings
    /// bottom-up; a level where the node is carried up has none); for a single
    /// Registry original, `record` (its `RecordProof`) instead (`record` is unused otherwise).
    struct ItemOpening {
        bytes32 contentHash;
        uint256 seed;
        bytes32[] proof;
        IRegistry.RecordProof record;
    }

    /// @notice A challenge of `duplicate` (a batch item) by `original`.
    struct Dispute {
        address challenger;
        // last block to contest, then (contested) last block to resolve; once Upheld, the block
        // from which `settle` may pay the challenger (the end of the reward hold)
        uint64 deadline;
        DisputeState state;
        bool single; // the original is a single Registry token
        address contester;
    }

    /// @notice The deployment parameters.
    struct Parameters {
        uint256 bondPerItem;
        uint256 challengeDeposit;
        uint256 challengeReward;
        uint256 matchThreshold;
        uint64 commitTtl;
        uint64 registrationWindow;
        uint64 disputeWindow;
        uint64 rewardHoldBlocks; // an upheld challenge's deposits and bond are held this long
        uint96 royaltyBps;
        uint32 maxBatch;
    }

    /// @notice ERC-721.
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    /// @notice ERC-721.
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    /// @notice ERC-721.
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    /// @notice ERC-2309: tokens `fromTokenId`..`toTokenId` moved (minted) at once.
    event ConsecutiveTransfer(
        uint256 indexed fromTokenId, uint256 toTokenId, address indexed fromAddress, address indexed toAddress
    );
    /// @notice ERC-4906: the token's metadata changed (revoked).
    event MetadataUpdate(uint256 _tokenId);
    /// @notice Emitted when a batch commitment (and its bond) is recorded.
    event Committed(bytes32 indexed commitment, address indexed committer, uint32 count, uint64 blockNumber);
    /// @notice Emitted when an expired commitment's bond is burned.
    event CommitForfeited(bytes32 indexed commitment, uint256 bond);
    /// @notice Emitted when a batch is registered (its tokens `startId`..`startId + count - 1`).
    event BatchRegistered(
        uint256 indexed batchId,
        address indexed producer,
        address indexed esp,
        uint256 startId,
        uint32 count,
        bytes32 fpRoot,
        bytes32 itemsRoot,
        bytes32 taskId,
        uint64 priorityBlock,
        uint64 commitBlock,
        bytes32 modelId,
        string metadataURI,
        bytes32[] fingerprints
    );
    /// @notice Emitted when an admissible challenge is opened.
    event ChallengeOpened(
        uint256 indexed original, uint256 indexed duplicate, address indexed challenger, uint256 distance, uint64 deadline
    );
    /// @notice Emitted when the accused contests a challenge.
    event ChallengeContested(uint256 indexed original, uint256 indexed duplicate, address indexed contester);
    /// @notice Emitted when a contester opens its item (proven against its batch's items root):
    /// the challenger reads `detail` here to `resolve`.
    event ItemOpened(uint256 indexed tokenId, bytes32 contentHash, uint256 seed, bytes detail);
    /// @notice Emitted when a challenge is decided (`state`: Upheld, Rejected or Void) or settled
    /// (Settled or Reversed).
    event ChallengeDecided(uint256 indexed original, uint256 indexed duplicate, DisputeState state, bool contested);
    /// @notice Emitted when a token is revoked.
    event Revoked(uint256 indexed tokenId, uint256 indexed original);
    /// @notice Emitted when `settle` reinstates a token whose revoking `original` was itself
    /// revoked within the reward hold (the Registry's event).
    event Reinstated(uint256 indexed tokenId, uint256 indexed original);

    /// @notice The commitment was already made.
    error BatchCommitExists(bytes32 commitment);
    /// @notice No such commitment for this owner (never made, already revealed, or other fields).
    error BatchUnknownCommit(bytes32 commitment);
    /// @notice Reveal in the commit's own block.
    error BatchRevealTooEarly(bytes32 commitment, uint64 committedBlock);
    /// @notice Reveal after the commitment expired.
    error BatchCommitExpired(bytes32 commitment, uint64 expiredAtBlock);
    /// @notice The commitment has not expired yet (it cannot be forfeited).
    error BatchCommitNotExpired(bytes32 commitment, uint64 expiresAtBlock);
    /// @notice Wrong bond or deposit.
    error BatchWrongValue(uint256 sent, uint256 required);
    /// @notice A batch holds 1..maxBatch items.
    error BatchBadCount(uint256 count, uint256 maxBatch);
    /// @notice The fingerprints revealed are not as many as the commitment was paid for.
    error BatchCountMismatch(uint256 fingerprints, uint32 committed);
    /// @notice Fingerprint `index` is not strictly greater than the one before (sorted, no repeats).
    error BatchUnsorted(uint256 index);
    /// @notice Fingerprint `index` is degenerate (a flat or blank image).
    error BatchDegenerateFingerprint(uint256 index, bytes32 fingerprint);
    /// @notice The generation lock is not an Ether fee from the revealing owner.
    error BatchLockMismatch(bytes32 lockId, address sender, address receiver);
    /// @notice The generation lock already registered a batch (one batch per paid generation).
    error BatchTaskUsed(bytes32 taskId);
    /// @notice The generation lock was not paid to the ESP (not withdrawn).
    error BatchLockNotPaid(bytes32 lockId, IHashTimeLock.Status status);
    /// @notice The commitment came more than `registrationWindow` blocks after the lock.
    error BatchRegistrationTooLate(bytes32 lockId, uint64 lastCommitBlock);
    /// @notice The ESP was not active when the generation lock was created.
    error BatchEspNotRegistered(address esp);
    /// @notice The attestation was not signed by the lock's receiver (the ESP) over these roots.
    error BatchInvalidAttestation(address esp);
    /// @notice The token does not exist (in this collection, or in the Registry for a single original).
    error BatchUnknownToken(uint256 tokenId);
    /// @notice The token is revoked.
    error BatchTokenRevoked(uint256 tokenId);
    /// @notice The item cannot move until `untilBlock` has passed (`registrationWindow + commitTtl`
    /// blocks after its batch's reveal): an earlier payer of its ESP may still register its image.
    error BatchTokenReclaimable(uint256 tokenId, uint64 untilBlock);
    /// @notice Only the owner of the original may challenge with it (the accused's owner contests).
    error BatchNotOwner(uint256 tokenId, address caller);
    /// @notice A token cannot challenge itself.
    error BatchSelfChallenge(uint256 tokenId);
    /// @notice The Merkle or record proof does not match the token's batch (or Registry record).
    error BatchBadProof(uint256 tokenId);
    /// @notice The original's priority is not strictly before the duplicate's.
    error BatchChallengeOutOfOrder(uint256 original, uint256 duplicate);
    /// @notice One ESP attested both: priority cannot decide (an equivocation, not revocable here).
    error BatchSameEsp(uint256 original, uint256 duplicate, address esp);
    /// @notice The original was committed no earlier than the duplicate's fee lock or commitment
    /// (`duplicateCommittedAt` is the earlier of the two): it may copy its (leaked) image.
    error BatchCommittedAfterPublication(uint256 original, uint64 committedAt, uint64 duplicateCommittedAt);
    /// @notice The compact fingerprints are beyond the threshold: the challenge is not admissible.
    error BatchNotAdmissible(uint256 original, uint256 duplicate, uint256 distance);
    /// @notice A challenge of this pair exists (or existed).
    error BatchDisputeExists(uint256 original, uint256 duplicate, DisputeState state);
    /// @notice The challenge is not in the state this step needs.
    error BatchDisputeState(uint256 original, uint256 duplicate, DisputeState state);
    /// @notice The window is closed (contest) or still open (finalize).
    error BatchDisputeWindow(uint256 original, uint256 duplicate, uint64 deadline);
    /// @notice `resolve`'s detail of the duplicate is not the one its contester opened (`ItemOpened`).
    error BatchNotContestedDetail(uint256 duplicate, bytes32 openedDetailHash);
    /// @notice `settle` before the reward hold passed (and the original is not revoked).
    error BatchRewardHeld(uint256 duplicate, uint64 releasableAtBlock);
    /// @notice An Ether payment failed (no longer raised: a refused payment is kept for
    /// `withdrawOwed`).
    error BatchTransferFailed(address to, uint256 amount);
    /// @notice `revokeCopied` was called by another than the court fixed at deployment, or for a
    /// token that is not an active item.
    error BatchUnauthorizedCourt(address caller);
    /// @notice `reinstate` of a settled win whose winner `original` is still active (it stands).
    error BatchWinnerActive(uint256 original);

    /// @notice Records a batch commitment for `count` items; `msg.value` must be `bondPerItem * count`.
    function commit(bytes32 commitment, uint32 count) external payable;
    /// @notice Burns the bond of a commitment that expired unrevealed (anyone may call): it stays
    /// locked in this contract.
    function forfeitCommit(bytes32 commitment) external;
    /// @notice Reveals a committed batch (the caller is its owner); mints its tokens.
    function reveal(
        BatchReveal calldata r,
        bytes32[] calldata fingerprints,
        IHashTimeLock.Lock calldata lock,
        bytes calldata espSignature
    ) external returns (uint256 batchId);
    /// @notice Opens a challenge of batch item `duplicate` by batch item `original` (caller owns it).
    function challenge(
        uint256 original,
        bytes32 fpA,
        bytes32[] calldata proofA,
        uint256 duplicate,
        bytes32 fpB,
        bytes32[] calldata proofB
    ) external payable;
    /// @notice Opens a challenge of batch item `duplicate` by single Registry token `original`.
    function challengeWithSingle(
        uint256 original,
        IRegistry.RecordProof calldata a,
        uint256 duplicate,
        bytes32 fpB,
        bytes32[] calldata proofB
    ) external payable;
    /// @notice The duplicate's owner contests an open challenge with the deposit, within the window,
    /// opening its item: `detailB` and `b` (content hash, seed, proof; `b.record` unused) must
    /// prove the duplicate's item leaf against its batch's items root (else `BatchBadProof`).
    /// Emits `ItemOpened` and `ChallengeContested`; the detail's hash is kept for `resolve`.
    function contest(uint256 original, uint256 duplicate, bytes calldata detailB, ItemOpening calldata b)
        external
        payable;
    /// @notice Decides a contested challenge with both details (anyone may call): `detailA` and
    /// `a` open the original; `detailB` must be the detail the contester opened (`ItemOpened`;
    /// else `BatchNotContestedDetail`), `b` is not read again.
    function resolve(
        uint256 original,
        uint256 duplicate,
        bytes calldata detailA,
        ItemOpening calldata a,
        bytes calldata detailB,
        ItemOpening calldata b
    ) external returns (bool upheld);
    /// @notice Decides a challenge whose window passed: uncontested, the duplicate is revoked;
    /// contested and unresolved, the challenge is rejected and the contester takes both deposits
    /// (the challenger, who holds its original's data and had the duplicate's, did not resolve).
    function finalize(uint256 original, uint256 duplicate) external returns (bool upheld);
    /// @notice Settles an upheld challenge (anyone may call, once). If the original was revoked
    /// since (batch item, or single original revoked at the Registry), the revocation is
    /// reversed: state Reversed, the duplicate reinstated (`Reinstated`, `MetadataUpdate`), the
    /// held deposits (two if contested) to the contester, else to the duplicate's owner (its
    /// producer while escrowed); no slash. Otherwise reverts `BatchRewardHeld` before the dispute's
    /// `deadline` (decision block + `rewardHoldBlocks`); after it, state Settled: the challenger
    /// gets the deposits and `challengeReward`, and the EspRegistry slashes the ESP that attested
    /// the revoked item's batch, min(`slashAmount`, stake) owed to the challenger. A separate step
    /// (the Registry's shape) so that a challenge (challenge + finalize) stays within its gas goal.
    /// Reverts `BatchDisputeState` unless the challenge is `Upheld`.
    function settle(uint256 original, uint256 duplicate) external;
    /// @notice Reverses a settled win whose winner `original` (an item, or a single original at
    /// the Registry) was revoked since, as a copy: the item it revoked, `duplicate`, is active
    /// again (`Reinstated`, `MetadataUpdate`), backed by the bond the caller posts (`msg.value`
    /// == `bondPerItem`; anyone may call, typically the duplicate's owner: its first bond was
    /// paid out and burned at `settle`). Once per dispute (it becomes Reversed). Reverts
    /// `BatchDisputeState` unless the dispute is Settled, `BatchWinnerActive` while `original`
    /// is active, `BatchWrongValue` without the bond.
    function reinstate(uint256 original, uint256 duplicate) external payable;
    /// @notice Called by the court fixed at deployment (the BatchCourt) when it rules that batch
    /// item `duplicate` is the second registration of the exact image registered alone as single
    /// `original` (`IBatchCourt.revokeDuplicateImage`): revokes it (no other item changes), sends
    /// `challengeReward` out of its bond to the court (the rest is burned by staying here, as any
    /// revoked item's; with `original` 0, a mis-attestation claim's, the whole bond: the court
    /// refunds the claimant's review fee out of it and burns the rest) and, when `esp` is not zero (one ESP attested the image to two payers),
    /// reports it to the ESP registry, which slashes it to `injured`. Reverts
    /// `BatchUnauthorizedCourt` for any other caller or a token that is not an active item.
    function revokeCopied(uint256 duplicate, uint256 original, address esp, address injured) external;
    /// @notice Sets the prefix of `tokenURI`; only the owner.
    function setBaseURI(string calldata uri) external;

    /// @notice The batch `batchId` (zero fields if none).
    function batchOf(uint256 batchId) external view returns (Batch memory);
    /// @notice The number of batches registered (the last batch id).
    function batchCount() external view returns (uint256);
    /// @notice The batch id of a token id (`tokenId >> 32`).
    function batchIdOf(uint256 tokenId) external pure returns (uint256);
    /// @notice A token's status (None for ids that do not exist).
    function statusOf(uint256 tokenId) external view returns (Status);
    /// @notice The challenge of `duplicate` by `original`.
    function disputeOf(uint256 original, uint256 duplicate) external view returns (Dispute memory);
    /// @notice A commitment's block and item count (zeros if none).
    function commitOf(bytes32 commitment) external view returns (uint64 blockNumber, uint32 count);
    /// @notice The commitment for these fields.
    function commitmentFor(bytes32 itemsRoot, bytes32 fingerprintsHash, uint256 count, address owner, bytes32 salt)
        external
        pure
        returns (bytes32);
    /// @notice Leaf `index` of the fingerprint tree.
    function fingerprintLeaf(uint256 index, bytes32 fp) external pure returns (bytes32);
    /// @notice Leaf `index` of the items tree.
    function itemLeaf(uint256 index, bytes32 contentHash, bytes32 detailHash, uint256 seed)
        external
        pure
        returns (bytes32);
    /// @notice The EIP-712 digest an ESP signs for a batch.
    function attestationDigest(
        bytes32 taskId,
        address producer,
        bytes32 itemsRoot,
        bytes32 fpRoot,
        uint32 count,
        bytes32 modelId
    ) external view returns (bytes32);
    /// @notice The deployment parameters.
    function parameters() external view returns (Parameters memory);
    /// @notice The prefix of `tokenURI` (the token id in decimal follows).
    function baseURI() external view returns (string memory);

    /// @notice Pays the caller the Ether it refused when it was due: a deposit or compensation
    /// its address rejected was kept for it instead of reverting, so a refusing party cannot
    /// block a decision that pays the other side too.
    function withdrawOwed() external;
}
