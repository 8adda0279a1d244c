// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBatchRegistry} from "./IBatchRegistry.sol";
import {IRegistry} from "./IRegistry.sol";

/// @title ICommitteeVerifier: stage 3 of a contested challenge, a committee of staked ESPs.
/// @notice Stands where the Registry, the BatchRegistry and the BatchCourt expect their
/// `IDetailVerifier` (same `length`, `matches` and `matchesFor` selectors). A review is of one
/// dispute (its forum, its two tokens and their detail hashes); each forum's `resolve` asks
/// `matchesFor`, that dispute's verdict (the rule's answer when it has none); `matches` answers
/// for a pair of detail descriptors over all its open disputes. While an open dispute of the
/// pair has a review, it reverts from the request until the review's reveal deadline (unless its
/// draw found too few active jurors enrolled and cancelled it: then the rule answers), then
/// answers the committee's verdict ("yes" only if every open dispute's review says so): `jurors` active ESPs,
/// drawn from the enrolled pool, re-run the published stage-3 comparison on the two images and
/// vote by commit-reveal. Without a quorum (a strict majority of the drawn jurors revealed) the
/// rule decides after all. Settling pays the majority the fee and the penalties of the minority
/// (a part of their bond) and of the jurors who did not reveal (a larger part).
interface ICommitteeVerifier {
    /// @notice The committee's parameters (immutable). `jurorBond` and `reviewFee` in wei,
    /// `commitBlocks` and `revealBlocks` the length of the two phases of a review.
    struct Params {
        uint16 jurors;
        uint96 jurorBond;
        uint96 reviewFee;
        uint64 commitBlocks;
        uint64 revealBlocks;
    }

    /// @notice The three forums whose open disputes the committee reviews (fixed at deployment:
    /// the deployment creates the committee before them, at addresses predicted by nonce).
    struct Forums {
        address registry;
        address batchRegistry;
        address batchCourt;
    }

    /// @notice A review: the hints telling jurors which images to compare, the block whose hash
    /// seeds its draw, its phases (0 until drawn), its drawn jurors (none until drawn), the
    /// revealed tallies, and whether the draw cancelled it (too few free jurors left).
    struct Review {
        address requester;
        address collection;
        uint256 original;
        uint256 duplicate;
        uint64 drawBlock;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint16 yes;
        uint16 no;
        bool settled;
        bool cancelled;
        address[] jurors;
    }

    /// @notice Emitted when an active ESP stakes `jurorBond` to serve.
    event JurorEnrolled(address juror);
    /// @notice Emitted when a juror leaves (or takes what it is owed) and gets `refunded` wei.
    event JurorLeft(address juror, uint256 refunded);
    /// @notice Emitted when a draw found `juror` in the pool but no longer an active ESP: it
    /// leaves the pool and its bond is owed to it (`claim`).
    event JurorEvicted(address juror);
    /// @notice Emitted when a review of the pair `key` is requested; its jurors are drawn by
    /// `draw` after block `drawBlock`, from that block's hash.
    event ReviewRequested(
        bytes32 indexed key,
        address indexed collection,
        uint256 original,
        uint256 duplicate,
        bytes32 detailHashA,
        bytes32 detailHashB,
        address requester,
        uint64 drawBlock
    );
    /// @notice Emitted when `draw` came more than 256 blocks after the draw block (its hash is
    /// gone), or after the pool or its free jurors changed at or after the draw block (its hash
    /// was public then: a change could choose the committee): the draw waits for block
    /// `drawBlock` instead.
    event ReviewRearmed(bytes32 indexed key, uint64 drawBlock);
    /// @notice Emitted when the jurors of review `key` are drawn; the phases start.
    event ReviewDrawn(bytes32 indexed key, address[] jurors, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice Emitted when the draw found fewer than `jurors` active jurors enrolled, busy or
    /// not: the fee is owed back to the requester and the rule decides the pair.
    event ReviewCancelled(bytes32 indexed key);
    /// @notice Emitted when a drawn juror commits (or re-commits) its hidden vote.
    event VoteCommitted(bytes32 indexed key, address indexed juror);
    /// @notice Emitted when a juror opens its commitment.
    event VoteRevealed(bytes32 indexed key, address indexed juror, bool vote);
    /// @notice Emitted when a review is settled; `decided` is false without a quorum.
    event ReviewSettled(bytes32 indexed key, bool decided, bool verdict, uint256 yes, uint256 no);

    /// @notice At a request: fewer than `needed` active ESPs are enrolled, busy or not (above
    /// `SCAN_LIMIT`, fewer than `needed` enrolled). At a draw: only `enrolled` of them are free
    /// now, the others drawn in unsettled reviews: the request waits (draw again once one of
    /// them is settled).
    error CommitteeTooSmall(uint256 enrolled, uint256 needed);
    /// @notice The review of `key` is still open until block `revealDeadline` (0: not drawn yet).
    error CommitteeReviewPending(bytes32 key, uint64 revealDeadline);
    /// @notice `caller` is not a juror (of the pool, or drawn for review `key`).
    error CommitteeNotJuror(bytes32 key, address caller);
    /// @notice `sent` wei where exactly `expected` is due.
    error CommitteeWrongValue(uint256 sent, uint256 expected);
    /// @notice The dispute `key` names was already reviewed (one review per dispute, ever).
    error CommitteeReviewExists(bytes32 key);
    /// @notice No review of `key` was requested.
    error CommitteeNoReview(bytes32 key);
    /// @notice The phase is closed: the call is allowed after block `opensAfter` up to block
    /// `closesAt` only.
    error CommitteeWindow(bytes32 key, uint64 opensAfter, uint64 closesAt);
    /// @notice The reveal does not open the juror's commitment (or it never committed).
    error CommitteeBadReveal(bytes32 key, address juror);
    /// @notice The juror already revealed its vote on `key`.
    error CommitteeAlreadyRevealed(bytes32 key, address juror);
    /// @notice The juror is drawn in review `key`, not yet settled.
    error CommitteeJurorBusy(address juror, bytes32 key);
    /// @notice `caller` is not an active registered ESP.
    error CommitteeNotEsp(address caller);
    /// @notice `juror` is already in the pool.
    error CommitteeAlreadyEnrolled(address juror);
    /// @notice The review of `key` was already settled.
    error CommitteeSettled(bytes32 key);
    /// @notice The parameters cannot work (no juror, a zero bond, a zero phase) or the rule's
    /// descriptors are not `DetailRule.LENGTH` bytes.
    error CommitteeBadParams();
    /// @notice The jurors of review `key` are drawn after block `drawBlock` only.
    error CommitteeDrawTooEarly(bytes32 key, uint64 drawBlock);
    /// @notice The jurors of review `key` were already drawn (or the draw cancelled it).
    error CommitteeAlreadyDrawn(bytes32 key);
    /// @notice The jurors of review `key` are not drawn (yet, or ever: it was cancelled).
    error CommitteeNotDrawn(bytes32 key);
    /// @notice An Ether payment failed.
    error CommitteeTransferFailed(address to, uint256 amount);
    /// @notice `forum` is none of the committee's three (Registry, BatchRegistry, BatchCourt).
    error CommitteeUnknownForum(address forum);
    /// @notice `forum` has no open dispute of `duplicate` by `original` (none, decided, settled,
    /// or Open past its window: only `finalize` is left).
    error CommitteeNoOpenDispute(address forum, uint256 original, uint256 duplicate);
    /// @notice The opening does not prove that `tokenId`'s detail descriptor hashes to the given
    /// detail hash (a Registry token's record proof, or a batch item's leaf and items-tree proof).
    error CommitteeBadOpening(uint256 tokenId);

    /// @notice Bytes in a detail descriptor (the rule's `length`).
    function length() external view returns (uint256);
    /// @notice The verdict on descriptors `a` (the original's) and `b` (the duplicate's). It
    /// counts the reviews of the open disputes (Open within their window, or Contested) of this
    /// pair of descriptors, at the calling forum only when a forum calls (the forums' `resolve`
    /// asks `matchesFor` instead): none,
    /// the rule's answer; reverts `CommitteeReviewPending` while one is not past its reveal
    /// deadline; else "yes" only if each says "yes" (the majority of its revealed votes with a
    /// quorum, a tie "no"; without a quorum, or cancelled, the rule's answer). A verdict reached
    /// in another dispute of the same descriptors (a Sybil's token carrying a victim's published
    /// descriptor, its image never shown) thus never revokes the victim against its own review.
    function matches(bytes calldata a, bytes calldata b) external view returns (bool);
    /// @notice The verdict of one dispute, what each forum's `resolve` asks: the review of
    /// `reviewKey(msg.sender, original, duplicate, keccak256(a), keccak256(b))`, the calling
    /// forum's dispute of `duplicate` by `original`. None requested, or cancelled by its draw, or
    /// revealed without a quorum: the rule's answer (`matches` of the rule); reverts
    /// `CommitteeReviewPending` until its reveal deadline; else the majority of its revealed votes
    /// (a tie "no"). A verdict reached in any other dispute, of the same descriptors or not, an
    /// open one of the plagiarist's own included, decides nothing here.
    function matchesFor(uint256 original, uint256 duplicate, bytes calldata a, bytes calldata b)
        external
        view
        returns (bool);
    /// @notice Joins the pool with `msg.value == jurorBond`; the caller must be an active ESP.
    function enroll() external payable;
    /// @notice Leaves the pool (if still in it) and takes back the bond and all it is owed
    /// (shares, a refunded fee, the rest of a penalised bond). Refused while drawn in a review
    /// not yet settled.
    function leave() external;
    /// @notice Asks for a review of the pair (`detailHashA` the original's descriptor hash,
    /// `detailHashB` the duplicate's) with `msg.value == reviewFee`, anyone (a party or not: the
    /// pair and its hashes are proven, so a third party can only pay for the review a party
    /// could ask). The pair must be an open dispute at `collection`, one of the three forums
    /// (`CommitteeUnknownForum`): Open within its window or Contested (`CommitteeNoOpenDispute`),
    /// and `a`, `b` must prove the two hashes against what the forum stores
    /// (`CommitteeBadOpening`): a Registry token's `record` (its `RecordProof`, whose
    /// `detailHash` is the hash) against its record hash; a batch item's (`contentHash`, `seed`,
    /// `proof`) leaf against its batch's items root. A Registry dispute opens two Registry tokens,
    /// a BatchRegistry one a batch item (the duplicate) by a batch item or, `single`, a Registry
    /// token, a BatchCourt one a Registry token (the duplicate) by a batch item. Made-up pairs
    /// cannot keep the jurors busy. At least `jurors` active ESPs must be enrolled now, busy or
    /// not (`CommitteeTooSmall`; above `SCAN_LIMIT` enrolled the pool is not scanned, so its gas
    /// does not grow with the pool): a request the busy pool cannot serve yet is held, and waits
    /// at its draw. It draws nobody: it fixes the draw block (the next block), whose hash nobody
    /// knows when sending the request; `draw` after it. The review is the dispute's
    /// (`reviewKey(collection, original, duplicate, detailHashA, detailHashB)`, one per dispute,
    /// `CommitteeReviewExists`). `collection`, `original` and `duplicate` also tell jurors which
    /// two images to compare. The accused calls it before `contest`.
    function requestReview(
        address collection,
        uint256 original,
        uint256 duplicate,
        bytes32 detailHashA,
        bytes32 detailHashB,
        IBatchRegistry.ItemOpening calldata a,
        IBatchRegistry.ItemOpening calldata b
    ) external payable returns (bytes32 key);
    /// @notice Asks for a review of a single token's RECORD (the BatchCourt only, for its
    /// `claimMisattested`; `CommitteeUnknownForum` from anyone else): do the fingerprint and the
    /// detail descriptor its ESP attested (`b`, proven by the court against the Registry) fail the
    /// public rules against the ones recomputed from the token's own bytes (its id is their
    /// content hash)? "yes": mis-attested. With `msg.value == reviewFee`, refunded to `requester`
    /// (the claimant) as any requester's. Key `keccak256(abi.encode(msg.sender, 0, tokenId,
    /// b.fingerprint, b.detailHash, round))` (six words: never a pair review's key); `ReviewRequested` names it with `original` 0, `duplicate` the token
    /// and the two hashes the attested fingerprint and detail hash. `b.esp` is the party, never
    /// drawn. Not counted by `matches` (no pair). Otherwise as `requestReview`.
    function requestRecordReview(uint256 tokenId, IRegistry.RecordProof calldata b, address requester, uint256 round)
        external
        payable
        returns (bytes32 key);
    /// @notice Draws the jurors of review `key` (anyone, once, after its draw block): `jurors`
    /// distinct free active ESPs of the pool, seeded by
    /// `keccak256(abi.encode(blockhash(drawBlock), key))`: a shuffle of the free active pool up to
    /// `SCAN_LIMIT` enrolled, above it at most `PROBES_PER_SEAT` random pool slots per seat (each
    /// free active juror equally likely; a probed juror that is no longer an active ESP is evicted,
    /// `JurorEvicted`), so its gas is bounded whatever the pool. The commit phase starts. More than
    /// 256 blocks after the draw block (its hash gone), or when the pool or its free jurors
    /// changed at or after the draw block (an enrolment, an exit, an eviction, another draw, a
    /// settlement: the hash was public then, so whoever changed the pool could choose whom it
    /// seats), it re-arms the draw on the next block instead (`ReviewRearmed`). With too few free
    /// jurors (the two ESPs that attested the images are parties and never drawn for their
    /// review: none of the counts here includes them), as many active ones enrolled but some busy in other reviews, it reverts
    /// `CommitteeTooSmall` (the review waits; above `SCAN_LIMIT`, when the probes found too few
    /// and evicted nobody); with fewer than `jurors` active ESPs enrolled it cancels the
    /// review (`ReviewCancelled`: the fee is owed back, the rule decides the pair). Whoever waits
    /// on the review (the challenger too) can call it, so a requester cannot stall the pair.
    /// The proposer of the draw block can still withhold it (losing its block reward) for one
    /// more try: the remaining bias, documented in docs/provenance.md.
    function draw(bytes32 key) external;
    /// @notice A drawn juror's hidden vote: `keccak256(abi.encode(key, juror, vote, salt))`,
    /// up to the commit deadline (a later commit replaces an earlier one).
    function commitVote(bytes32 key, bytes32 commitment) external;
    /// @notice Opens the juror's commitment after the commit deadline, up to the reveal deadline.
    function revealVote(bytes32 key, bool vote, bytes32 salt) external;
    /// @notice After the reveal deadline (anyone, once): pays the majority, penalises the
    /// minority and the silent, frees the jurors; without a quorum refunds the fee and burns the
    /// silent jurors' penalties.
    function settleReview(bytes32 key) external;
    /// @notice What `account` may take with `claim` (or with `leave`, besides its bond).
    function owed(address account) external view returns (uint256);
    /// @notice Takes what the caller is owed (a requester's refunded fee, a removed juror's
    /// leftover bond, a juror's shares) without leaving the pool.
    function claim() external;

    /// @notice Reverts `CommitteeReviewPending` while the calling forum's dispute of `duplicate`
    /// by `original` has a review not past its reveal deadline (0: requested, not drawn yet);
    /// a forum's `finalize` asks before it rejects a contested challenge left unresolved at its
    /// deadline, so a review still running then delays the decision instead of handing the
    /// contester the win (red team 7).
    function checkReviewed(uint256 original, uint256 duplicate) external view;

    /// @notice The key of the review of a dispute: `keccak256(abi.encode(collection, original,
    /// duplicate, detailHashA, detailHashB))`.
    function reviewKey(address collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB)
        external
        pure
        returns (bytes32);
    /// @notice The review of `key` (all zero if none).
    function review(bytes32 key) external view returns (Review memory);
    /// @notice The juror's state in review `key`: 0 not drawn, 1 drawn, 2 committed, 3 revealed
    /// "no", 4 revealed "yes".
    function ballotOf(bytes32 key, address juror) external view returns (uint8);
    /// @notice The juror's bond at stake (0 when not in the pool).
    function bondOf(address juror) external view returns (uint256);
    /// @notice The review the juror is drawn in and that is not settled (0 if none).
    function drawnIn(address juror) external view returns (bytes32);
    /// @notice The pool, in enrollment order (with swaps on removal).
    function jurorsEnrolled() external view returns (address[] memory);
    /// @notice The committee's parameters.
    function parameters() external view returns (Params memory);
    /// @notice The stage-2 rule behind this committee.
    function rule() external view returns (address);
    /// @notice The forums whose open disputes may be reviewed.
    function forums() external view returns (Forums memory);
}
