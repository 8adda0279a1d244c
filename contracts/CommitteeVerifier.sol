// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBatchCourt} from "./interfaces/IBatchCourt.sol";
import {IBatchRegistry} from "./interfaces/IBatchRegistry.sol";
import {ICommitteeVerifier} from "./interfaces/ICommitteeVerifier.sol";
import {IDetailVerifier} from "./interfaces/IDetailVerifier.sol";
import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {DetailRule} from "./DetailRule.sol";
import {ItemsTree} from "./ItemsTree.sol";

/// @title CommitteeVerifier: stage 3 of a contested challenge, decided by staked ESPs (issue 11)
/// @notice See {ICommitteeVerifier}. Protocol: active ESPs `enroll` with a bond; the accused of a
/// challenge `requestReview`s its dispute (before `contest`, so the challenger cannot `resolve`
/// first; only a dispute open at one of the three forums, its detail hashes proven against the
/// forum's records), paying the fee, which fixes the draw block (the next one); after it anyone `draw`s
/// `jurors` distinct free jurors, seeded by that block's hash (see `draw`: re-armed when the pool
/// changed since that block, waiting while too many jurors are busy); each `commitVote`s a hidden
/// vote up to the commit deadline and `revealVote`s it after, up to the reveal deadline; from then
/// on `matches` answers the revealed majority (a quorum: more than half the drawn revealed), and
/// anyone may `settleReview`: the majority shares the fee and the penalties, a minority juror
/// loses `1/MINORITY_DIVISOR` of its bond, a silent one `1/SILENT_DIVISOR`; a penalised juror
/// leaves the pool (its rest is owed to it). Without a quorum the fee is owed back to the
/// requester and the silent jurors' penalties are burned.
/// Invariants: Ether held == the bonds of the pool + what is owed (`owed`) + the fee of every
/// requested review neither settled nor cancelled; `_free` == the pool's jurors not drawn in an
/// unsettled review; a juror is drawn in at most one unsettled review and cannot
/// leave while it is; a dispute is reviewed at most once; `matches` never answers for a pair
/// while an open dispute's review of it is before its reveal deadline (or its draw), unless the
/// draw cancelled it; a draw's seed is the hash of a block mined after the last change of the
/// pool or of its free jurors (`_poolChanged`). Money moves only by pull (`leave`, `claim`), so no juror or
/// requester can block a settlement by refusing Ether.
/// @dev Not an `IDetailVerifier` by inheritance (its `matches` reads storage, so it is `view`,
/// not `pure`), but with the same selectors: the registries STATICCALL it all the same.
/// `length` is `DetailRule.LENGTH` and not a call to the rule, because the deployment creates
/// this contract before the rule (the Registry reads `length` in its constructor and keeps its
/// address); the constructor refuses a deployed rule of another length. The forums are created
/// after it too: the deployment passes their addresses predicted by nonce and checks them.
contract CommitteeVerifier is ICommitteeVerifier, ReentrancyGuardTransient {
    /// @notice Where the penalties of a review without a quorum go.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;
    /// @notice A juror that revealed against the majority loses bond / this.
    uint256 public constant MINORITY_DIVISOR = 5;
    /// @notice A drawn juror that did not reveal loses bond / this.
    uint256 public constant SILENT_DIVISOR = 2;
    /// @notice Up to this many enrolled jurors, `requestReview` counts and `draw` shuffles the
    /// whole pool; above it both cost the same whatever its size (see `_probe`).
    uint256 public constant SCAN_LIMIT = 64;
    /// @notice Above `SCAN_LIMIT`, `draw` probes at most this many pool slots per seat.
    uint256 public constant PROBES_PER_SEAT = 8;

    uint8 private constant _DRAWN = 1;
    uint8 private constant _COMMITTED = 2;
    uint8 private constant _NO = 3;
    uint8 private constant _YES = 4;

    /// @dev A settlement's working state.
    struct Tally {
        bool quorum;
        bool verdict;
        bool tie;
        uint256 pot;
        uint256 burned;
        uint256 winners;
    }

    IDetailVerifier private immutable _rule;
    IEspRegistry private immutable _esps;
    uint16 private immutable _jurors;
    uint96 private immutable _jurorBond;
    uint96 private immutable _reviewFee;
    uint64 private immutable _commitBlocks;
    uint64 private immutable _revealBlocks;
    IRegistry private immutable _registry;
    IBatchRegistry private immutable _batchRegistry;
    address private immutable _batchCourt;

    /// @dev Where a batch item's index ends in its token id (the BatchRegistry's `_INDEX_BITS`).
    uint256 private constant _INDEX_BITS = 32;

    address[] private _pool;
    /// @dev Pool members not drawn in an unsettled review (active or not: see `_probe`).
    uint256 private _free;
    mapping(address juror => uint256 indexPlusOne) private _poolIndex;
    mapping(address juror => uint256) private _bond;
    mapping(address juror => bytes32 key) private _drawnIn;
    mapping(address account => uint256) private _owed;
    mapping(bytes32 key => Review) private _reviews;
    mapping(bytes32 key => mapping(address juror => uint8)) private _ballot;
    mapping(bytes32 key => mapping(address juror => bytes32)) private _commitment;
    /// @dev The reviews (their keys, in request order) of each pair of detail hashes
    /// (`keccak256(abi.encode(detailHashA, detailHashB))`), whatever their dispute.
    mapping(bytes32 pair => bytes32[] keys) private _pairReviews;
    /// @dev The last block in which the draw's inputs changed: the pool (an enrolment, an exit, a
    /// penalty's or an eviction's removal) or its free jurors (a draw, a settlement).
    uint64 private _poolChanged;
    /// @dev The ESPs that attested the two images of each review: parties, never drawn for it.
    mapping(bytes32 key => address[2] esps) private _parties;
    /// @dev The review of each forum's dispute (`keccak256(abi.encode(forum, original,
    /// duplicate))`; its detail hashes are proven, so one key per dispute), for `checkReviewed`.
    mapping(bytes32 dispute => bytes32 key) private _disputeReview;

    constructor(IDetailVerifier rule_, IEspRegistry esps, Forums memory forums_, Params memory p) {
        if (p.jurors == 0 || p.jurorBond < SILENT_DIVISOR * MINORITY_DIVISOR || p.commitBlocks == 0 || p.revealBlocks == 0) {
            revert CommitteeBadParams();
        }
        if (address(rule_).code.length != 0 && rule_.length() != DetailRule.LENGTH) revert CommitteeBadParams();
        _rule = rule_;
        _esps = esps;
        _jurors = p.jurors;
        _jurorBond = p.jurorBond;
        _reviewFee = p.reviewFee;
        _commitBlocks = p.commitBlocks;
        _revealBlocks = p.revealBlocks;
        _registry = IRegistry(forums_.registry);
        _batchRegistry = IBatchRegistry(forums_.batchRegistry);
        _batchCourt = forums_.batchCourt;
    }

    /// @inheritdoc ICommitteeVerifier
    function length() external pure returns (uint256) {
        return DetailRule.LENGTH;
    }

    /// @inheritdoc ICommitteeVerifier
    function matches(bytes calldata a, bytes calldata b) external view returns (bool) {
        bytes32[] storage keys = _pairReviews[keccak256(abi.encode(keccak256(a), keccak256(b)))];
        address sender = msg.sender;
        bool forum = sender == address(_registry) || sender == address(_batchRegistry) || sender == _batchCourt;
        bool verdict = true;
        bool counted;
        bool rule;
        for (uint256 i = 0; i < keys.length; ++i) {
            bytes32 key = keys[i];
            Review storage r = _reviews[key];
            // a forum's `resolve` asks for one of its own disputes: another forum's reviews, and
            // reviews of disputes no longer open, decide nothing here
            if ((forum && r.collection != sender) || !_isOpen(r.collection, r.original, r.duplicate)) continue;
            counted = true;
            if (r.cancelled) {
                rule = true;
                continue;
            }
            uint64 deadline = r.revealDeadline;
            // deadline 0: requested, not drawn yet
            if (deadline == 0 || block.number <= deadline) revert CommitteeReviewPending(key, deadline);
            uint256 yes = r.yes;
            uint256 no = r.no;
            if (2 * (yes + no) > r.jurors.length) verdict = verdict && yes > no;
            else rule = true;
        }
        // "yes" only if every open dispute's review of the pair says so: a verdict reached in
        // another dispute (without this one's images) cannot revoke; none reviewed (or one
        // cancelled, or without a quorum): the rule decides as well
        if (!verdict) return false;
        return (counted && !rule) || _rule.matches(a, b);
    }

    /// @inheritdoc ICommitteeVerifier
    function matchesFor(uint256 original, uint256 duplicate, bytes calldata a, bytes calldata b)
        external
        view
        returns (bool)
    {
        bytes32 key = reviewKey(msg.sender, original, duplicate, keccak256(a), keccak256(b));
        Review storage r = _reviews[key];
        // none requested (a zero collection) or cancelled by its draw: the rule decides
        if (r.collection != address(0) && !r.cancelled) {
            uint64 deadline = r.revealDeadline;
            // deadline 0: requested, not drawn yet
            if (deadline == 0 || block.number <= deadline) revert CommitteeReviewPending(key, deadline);
            uint256 yes = r.yes;
            uint256 no = r.no;
            // with a quorum (a strict majority of the drawn jurors revealed) its majority decides
            if (2 * (yes + no) > r.jurors.length) return yes > no;
        }
        return _rule.matches(a, b);
    }

    /// @inheritdoc ICommitteeVerifier
    function enroll() external payable nonReentrant {
        if (msg.value != _jurorBond) revert CommitteeWrongValue(msg.value, _jurorBond);
        if (_poolIndex[msg.sender] != 0) revert CommitteeAlreadyEnrolled(msg.sender);
        if (!_esps.isActive(msg.sender)) revert CommitteeNotEsp(msg.sender);
        _pool.push(msg.sender);
        _poolIndex[msg.sender] = _pool.length;
        _bond[msg.sender] = msg.value;
        ++_free;
        _poolChanged = uint64(block.number);
        emit JurorEnrolled(msg.sender);
    }

    /// @inheritdoc ICommitteeVerifier
    function leave() external nonReentrant {
        bytes32 busy = _drawnIn[msg.sender];
        if (busy != 0) revert CommitteeJurorBusy(msg.sender, busy);
        uint256 amount = _bond[msg.sender] + _owed[msg.sender];
        if (_poolIndex[msg.sender] == 0 && amount == 0) revert CommitteeNotJuror(bytes32(0), msg.sender);
        if (_poolIndex[msg.sender] != 0) {
            _removeFromPool(msg.sender);
            --_free; // it is not busy
            _poolChanged = uint64(block.number);
        }
        _bond[msg.sender] = 0;
        _owed[msg.sender] = 0;
        emit JurorLeft(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc ICommitteeVerifier
    function claim() external nonReentrant {
        uint256 amount = _owed[msg.sender];
        if (amount == 0) revert CommitteeNotJuror(bytes32(0), msg.sender);
        _owed[msg.sender] = 0;
        emit JurorLeft(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc ICommitteeVerifier
    function requestReview(
        address collection,
        uint256 original,
        uint256 duplicate,
        bytes32 detailHashA,
        bytes32 detailHashB,
        IBatchRegistry.ItemOpening calldata a,
        IBatchRegistry.ItemOpening calldata b
    ) external payable nonReentrant returns (bytes32 key) {
        if (msg.value != _reviewFee) revert CommitteeWrongValue(msg.value, _reviewFee);
        // only an open dispute's true pair: made-up pairs would keep the jurors busy (each
        // review holds five for a day) and switch the committee off for real disputes
        (bool itemA, bool itemB) = _openDispute(collection, original, duplicate);
        // one review per dispute: another dispute of the same descriptors (a Sybil's token
        // carrying the victim's published descriptor) has its own, and cannot take this one's
        key = reviewKey(collection, original, duplicate, detailHashA, detailHashB);
        // the ESPs that attested the two images: parties, never drawn for this review
        _parties[key] = [_checkSide(original, detailHashA, a, itemA), _checkSide(duplicate, detailHashB, b, itemB)];
        _request(key, collection, original, duplicate, detailHashA, detailHashB, msg.sender);
        _pairReviews[keccak256(abi.encode(detailHashA, detailHashB))].push(key);
        _disputeReview[keccak256(abi.encode(collection, original, duplicate))] = key;
    }

    /// @inheritdoc ICommitteeVerifier
    function checkReviewed(uint256 original, uint256 duplicate) external view {
        bytes32 key = _disputeReview[keccak256(abi.encode(msg.sender, original, duplicate))];
        Review storage r = _reviews[key];
        // none requested (no key: a zero collection) or cancelled by its draw: nothing to wait for
        if (r.collection != address(0) && !r.cancelled) {
            uint64 deadline = r.revealDeadline;
            // deadline 0: requested, not drawn yet
            if (deadline == 0 || block.number <= deadline) revert CommitteeReviewPending(key, deadline);
        }
    }

    /// @inheritdoc ICommitteeVerifier
    function requestRecordReview(uint256 tokenId, IRegistry.RecordProof calldata b, address requester, uint256 round)
        external
        payable
        nonReentrant
        returns (bytes32 key)
    {
        if (msg.value != _reviewFee) revert CommitteeWrongValue(msg.value, _reviewFee);
        // the court proved `b` against the Registry and holds the claimant's deposit
        if (msg.sender != _batchCourt) revert CommitteeUnknownForum(msg.sender);
        // six words: never a pair review's key (`reviewKey`, five)
        key = keccak256(abi.encode(msg.sender, uint256(0), tokenId, b.fingerprint, b.detailHash, round));
        _parties[key] = [b.esp, b.esp]; // the attesting ESP judges nothing about its own record
        _request(key, msg.sender, 0, tokenId, b.fingerprint, b.detailHash, requester);
    }

    /// @dev Records review `key` (`requester`'s, refunded the fee without a quorum) and fixes
    /// its draw block.
    function _request(
        bytes32 key,
        address collection,
        uint256 original,
        uint256 duplicate,
        bytes32 hashA,
        bytes32 hashB,
        address requester
    ) private {
        Review storage r = _reviews[key];
        if (r.drawBlock != 0) revert CommitteeReviewExists(key);
        // enough enrolled active ESPs, busy or not: a request the busy pool cannot serve now
        // waits at its draw (see `draw`) instead of being refused, so that occupying the jurors
        // delays a verdict and never hands it to the rule; a large pool is not scanned (gas O(1)
        // in its size): its deregistered ESPs are counted here and evicted by the draws
        uint256 n = _pool.length <= SCAN_LIMIT ? _scanCount() : _pool.length;
        if (n < _jurors) revert CommitteeTooSmall(n, _jurors);
        uint64 drawBlock = uint64(block.number) + 1;
        r.requester = requester;
        r.collection = collection;
        r.original = original;
        r.duplicate = duplicate;
        r.drawBlock = drawBlock;
        emit ReviewRequested(key, collection, original, duplicate, hashA, hashB, requester, drawBlock);
    }

    /// @inheritdoc ICommitteeVerifier
    function draw(bytes32 key) external nonReentrant {
        Review storage r = _existing(key);
        if (r.revealDeadline != 0 || r.cancelled) revert CommitteeAlreadyDrawn(key);
        uint64 drawBlock = r.drawBlock;
        if (block.number <= drawBlock) revert CommitteeDrawTooEarly(key, drawBlock);
        bytes32 hash = blockhash(drawBlock);
        if (hash == 0 || _poolChanged >= drawBlock) {
            // more than 256 blocks ago: its hash is gone; or the pool (or who in it is free)
            // changed since the draw block was mined, when its hash was public: whoever changed
            // it (a Sybil juror's exit or enrolment, a draw or settlement timed for it) may have
            // chosen the committee this hash seats. A fresh block, not known yet, seeds it.
            drawBlock = uint64(block.number) + 1;
            r.drawBlock = drawBlock;
            emit ReviewRearmed(key, drawBlock);
            return;
        }
        uint256 seed = uint256(keccak256(abi.encode(hash, key)));
        address[] memory drawn;
        if (_pool.length <= SCAN_LIMIT) {
            (address[] memory candidates, uint256 n, uint256 active) = _candidates(_parties[key]);
            if (n >= _jurors) {
                drawn = _draw(candidates, n, seed);
            } else if (active >= _jurors) {
                // enough jurors, too many busy in other reviews: the request waits for them
                // (each is freed at its review's settlement), the draw is re-armed then
                revert CommitteeTooSmall(n, _jurors);
            }
        } else {
            drawn = _probe(seed, _parties[key]);
            if (drawn.length == 0) {
                // the probes found too few free active jurors: busy ones, the review waits for
                // them; evicted ones (the pool changed), it re-arms. A pool of deregistered ESPs
                // shrinks so to a scanned one, which cancels when too few active ones are left.
                if (_poolChanged != block.number) revert CommitteeTooSmall(_free, _jurors);
                drawBlock = uint64(block.number) + 1;
                r.drawBlock = drawBlock;
                emit ReviewRearmed(key, drawBlock);
                return;
            }
        }
        if (drawn.length == 0) {
            // fewer active ESPs enrolled than `jurors` (some deregistered or left since the
            // request): the rule decides this pair, and the fee goes back
            r.cancelled = true;
            _owed[r.requester] += _reviewFee;
            emit ReviewCancelled(key);
            return;
        }
        _free -= drawn.length;
        _poolChanged = uint64(block.number);
        uint64 commitDeadline = uint64(block.number) + _commitBlocks;
        uint64 revealDeadline = commitDeadline + _revealBlocks;
        r.commitDeadline = commitDeadline;
        r.revealDeadline = revealDeadline;
        r.jurors = drawn;
        for (uint256 i = 0; i < drawn.length; ++i) {
            _drawnIn[drawn[i]] = key;
            _ballot[key][drawn[i]] = _DRAWN;
        }
        emit ReviewDrawn(key, drawn, commitDeadline, revealDeadline);
    }

    /// @inheritdoc ICommitteeVerifier
    function commitVote(bytes32 key, bytes32 commitment) external {
        Review storage r = _drawn(key);
        if (block.number > r.commitDeadline) revert CommitteeWindow(key, 0, r.commitDeadline);
        uint8 ballot = _ballot[key][msg.sender];
        if (ballot == 0) revert CommitteeNotJuror(key, msg.sender);
        _ballot[key][msg.sender] = _COMMITTED;
        _commitment[key][msg.sender] = commitment;
        emit VoteCommitted(key, msg.sender);
    }

    /// @inheritdoc ICommitteeVerifier
    function revealVote(bytes32 key, bool vote, bytes32 salt) external {
        Review storage r = _drawn(key);
        if (block.number <= r.commitDeadline || block.number > r.revealDeadline) {
            revert CommitteeWindow(key, r.commitDeadline, r.revealDeadline);
        }
        uint8 ballot = _ballot[key][msg.sender];
        if (ballot == 0) revert CommitteeNotJuror(key, msg.sender);
        if (ballot >= _NO) revert CommitteeAlreadyRevealed(key, msg.sender);
        if (ballot != _COMMITTED || keccak256(abi.encode(key, msg.sender, vote, salt)) != _commitment[key][msg.sender]) {
            revert CommitteeBadReveal(key, msg.sender);
        }
        _ballot[key][msg.sender] = vote ? _YES : _NO;
        // at most `jurors` (a uint16) reveals per review: the tallies cannot overflow
        if (vote) ++r.yes;
        else ++r.no;
        emit VoteRevealed(key, msg.sender, vote);
    }

    /// @inheritdoc ICommitteeVerifier
    function settleReview(bytes32 key) external nonReentrant {
        Review storage r = _drawn(key);
        if (block.number <= r.revealDeadline) revert CommitteeReviewPending(key, r.revealDeadline);
        if (r.settled) revert CommitteeSettled(key);
        r.settled = true;
        _poolChanged = uint64(block.number); // its jurors are free again (or penalised, out)
        address[] memory drawn = r.jurors;
        Tally memory t = Tally({
            quorum: 2 * (uint256(r.yes) + r.no) > drawn.length,
            verdict: r.yes > r.no,
            tie: r.yes == r.no,
            pot: 0,
            burned: 0,
            winners: 0
        });
        if (t.quorum) t.pot = _reviewFee;
        else _owed[r.requester] += _reviewFee;
        for (uint256 i = 0; i < drawn.length; ++i) {
            _penalise(key, drawn[i], t);
        }
        if (t.quorum) {
            // winners >= 1: with a quorum someone revealed, and the verdict's side is not empty
            uint256 share = t.pot / t.winners;
            uint256 dust = t.pot - share * t.winners;
            for (uint256 i = 0; i < drawn.length; ++i) {
                if (_wins(_ballot[key][drawn[i]], t)) {
                    _owed[drawn[i]] += share + dust;
                    dust = 0;
                }
            }
        }
        emit ReviewSettled(key, t.quorum, t.quorum && t.verdict, r.yes, r.no);
        if (t.burned != 0) _send(BURN, t.burned);
    }

    /// @inheritdoc ICommitteeVerifier
    function reviewKey(address collection, uint256 original, uint256 duplicate, bytes32 detailHashA, bytes32 detailHashB)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(collection, original, duplicate, detailHashA, detailHashB));
    }

    /// @inheritdoc ICommitteeVerifier
    function review(bytes32 key) external view returns (Review memory) {
        return _reviews[key];
    }

    /// @inheritdoc ICommitteeVerifier
    function ballotOf(bytes32 key, address juror) external view returns (uint8) {
        return _ballot[key][juror];
    }

    /// @inheritdoc ICommitteeVerifier
    function bondOf(address juror) external view returns (uint256) {
        return _bond[juror];
    }

    /// @inheritdoc ICommitteeVerifier
    function owed(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @inheritdoc ICommitteeVerifier
    function drawnIn(address juror) external view returns (bytes32) {
        return _drawnIn[juror];
    }

    /// @inheritdoc ICommitteeVerifier
    function jurorsEnrolled() external view returns (address[] memory) {
        return _pool;
    }

    /// @inheritdoc ICommitteeVerifier
    function parameters() external view returns (Params memory) {
        return Params(_jurors, _jurorBond, _reviewFee, _commitBlocks, _revealBlocks);
    }

    /// @inheritdoc ICommitteeVerifier
    function rule() external view returns (address) {
        return address(_rule);
    }

    /// @inheritdoc ICommitteeVerifier
    function forums() external view returns (Forums memory) {
        return Forums(address(_registry), address(_batchRegistry), _batchCourt);
    }

    /// @dev Reverts unless `forum` is one of the three and holds an open dispute of `duplicate` by
    /// `original` (see `_isOpen`); returns whether each side is a batch item (else a Registry
    /// token).
    function _openDispute(address forum, uint256 original, uint256 duplicate)
        private
        view
        returns (bool itemA, bool itemB)
    {
        if (forum == address(_batchRegistry)) {
            (itemA, itemB) = (!_batchRegistry.disputeOf(original, duplicate).single, true);
        } else if (forum == _batchCourt) {
            itemA = true;
        } else if (forum != address(_registry)) {
            revert CommitteeUnknownForum(forum);
        }
        if (!_isOpen(forum, original, duplicate)) revert CommitteeNoOpenDispute(forum, original, duplicate);
    }

    /// @dev Whether `forum` (one of the three) holds an open dispute of `duplicate` by `original`:
    /// Open within its window, or Contested.
    function _isOpen(address forum, uint256 original, uint256 duplicate) private view returns (bool) {
        IRegistry.DisputeState state;
        uint64 deadline;
        if (forum == address(_registry)) {
            IRegistry.Dispute memory d = _registry.disputeOf(original, duplicate);
            (state, deadline) = (d.state, d.deadline);
        } else if (forum == address(_batchRegistry)) {
            IBatchRegistry.Dispute memory d = _batchRegistry.disputeOf(original, duplicate);
            (state, deadline) = (IRegistry.DisputeState(uint8(d.state)), d.deadline);
        } else {
            IBatchCourt.Dispute memory d = IBatchCourt(forum).disputeOf(original, duplicate);
            (state, deadline) = (d.state, d.deadline);
        }
        return state == IRegistry.DisputeState.Contested
            || (state == IRegistry.DisputeState.Open && block.number <= deadline);
    }

    /// @dev Reverts unless `o` proves that token `tokenId`'s detail descriptor hashes to
    /// `detailHash`: a batch item's leaf against its batch's items root (`item`), else a Registry
    /// token's record proof (naming `detailHash`) against its stored record hash.
    function _checkSide(uint256 tokenId, bytes32 detailHash, IBatchRegistry.ItemOpening calldata o, bool item)
        private
        view
        returns (address esp)
    {
        bool ok;
        if (item) {
            IBatchRegistry.Batch memory batch = _batchRegistry.batchOf(tokenId >> _INDEX_BITS);
            uint256 index = tokenId & type(uint32).max;
            bytes32 leaf = _batchRegistry.itemLeaf(index, o.contentHash, detailHash, o.seed);
            bytes32 root;
            (root, ok) = ItemsTree.rootOf(leaf, index, batch.count, o.proof);
            ok = ok && root == batch.itemsRoot;
            esp = batch.esp;
        } else {
            bytes32 stored = _registry.recordOf(tokenId).recordHash;
            ok = stored != 0 && o.record.detailHash == detailHash && _registry.recordHashOf(o.record) == stored;
            esp = o.record.esp;
        }
        if (!ok) revert CommitteeBadOpening(tokenId);
    }

    /// @dev How many of the pool's jurors are active ESPs, busy or not (a small pool only).
    function _scanCount() private view returns (uint256 n) {
        for (uint256 i = 0; i < _pool.length; ++i) {
            if (_esps.isActive(_pool[i])) ++n;
        }
    }

    /// @dev `_jurors` distinct free active jurors of a pool larger than `SCAN_LIMIT`, each slot
    /// probed uniformly at random (`seed`), at most `PROBES_PER_SEAT * _jurors` probes: every free
    /// active juror is equally likely, and the gas does not grow with the pool, so no number of
    /// enrolments (a Sybil flood, or success) can push `draw` past a block's gas limit. A probed
    /// juror that is no longer an active ESP is evicted (its bond owed to it): a pool padded with
    /// deregistered ESPs is cleaned by the draws themselves. Empty when the probes run out.
    function _probe(uint256 seed, address[2] memory parties) private returns (address[] memory drawn) {
        address[] memory found = new address[](_jurors);
        uint256 n;
        for (uint256 probes = PROBES_PER_SEAT * _jurors; probes != 0 && n < found.length; --probes) {
            seed = uint256(keccak256(abi.encode(seed)));
            uint256 size = _pool.length;
            if (size == 0) break;
            address juror = _pool[seed % size];
            // busy elsewhere, or a party to this review (see `_candidates`)
            if (_drawnIn[juror] != 0 || juror == parties[0] || juror == parties[1]) continue;
            if (!_esps.isActive(juror)) {
                _owed[juror] += _bond[juror];
                _bond[juror] = 0;
                _removeFromPool(juror);
                --_free;
                _poolChanged = uint64(block.number);
                emit JurorEvicted(juror);
                continue;
            }
            bool seen;
            for (uint256 i = 0; i < n; ++i) {
                if (found[i] == juror) seen = true;
            }
            if (!seen) found[n++] = juror;
        }
        if (n == found.length) drawn = found;
    }

    /// @dev The pool's free active ESPs (the first `n` of `candidates`), in pool order, and how
    /// many of the pool are active ESPs, busy or not (`active`), the review's `parties` left out:
    /// the ESP that attested either image never sits on its review (red team 3: a plagiarist's
    /// own ESP, enrolled, voted on its copy). Too few others: cancelled, the rule decides.
    function _candidates(address[2] memory parties)
        private
        view
        returns (address[] memory candidates, uint256 n, uint256 active)
    {
        candidates = new address[](_pool.length);
        for (uint256 i = 0; i < _pool.length; ++i) {
            address juror = _pool[i];
            if (juror == parties[0] || juror == parties[1] || !_esps.isActive(juror)) continue;
            ++active;
            if (_drawnIn[juror] == 0) candidates[n++] = juror;
        }
    }

    /// @dev `_jurors` distinct jurors among the first `n` `candidates` (n >= `_jurors`): a partial
    /// Fisher-Yates shuffle seeded by `seed` (from the hash of the review's draw block, mined
    /// after the request: see `draw` for what a proposer can still do).
    function _draw(address[] memory candidates, uint256 n, uint256 seed) private view returns (address[] memory drawn) {
        drawn = new address[](_jurors);
        for (uint256 i = 0; i < drawn.length; ++i) {
            uint256 j = i + seed % (n - i);
            (candidates[i], candidates[j]) = (candidates[j], candidates[i]);
            drawn[i] = candidates[i];
            seed = uint256(keccak256(abi.encode(seed)));
        }
    }

    /// @dev Frees `juror` from review `key`; a silent juror, or a minority one with a quorum,
    /// loses its penalty (to `t.pot` with a quorum, else to `t.burned`) and leaves the pool, the
    /// rest of its bond owed to it; a winner is counted.
    function _penalise(bytes32 key, address juror, Tally memory t) private {
        delete _drawnIn[juror];
        ++_free; // back in the pool, free (a penalty below takes it out again)
        uint8 ballot = _ballot[key][juror];
        uint256 penalty;
        if (ballot < _NO) penalty = _jurorBond / SILENT_DIVISOR;
        else if (t.quorum && !t.tie && (ballot == _YES) != t.verdict) penalty = _jurorBond / MINORITY_DIVISOR;
        else if (t.quorum) ++t.winners;
        if (penalty == 0) return;
        // a drawn juror is in the pool with a full bond: a penalty removes it, and it is drawn
        // in one unsettled review at most, so nothing was taken from this bond before
        _owed[juror] += _bond[juror] - penalty;
        _bond[juror] = 0;
        _removeFromPool(juror);
        --_free;
        if (t.quorum) t.pot += penalty;
        else t.burned += penalty;
    }

    /// @dev Whether a juror with `ballot` shares the pot: it revealed the verdict (any vote in a tie).
    function _wins(uint8 ballot, Tally memory t) private pure returns (bool) {
        return ballot >= _NO && (t.tie || (ballot == _YES) == t.verdict);
    }

    function _existing(bytes32 key) private view returns (Review storage r) {
        r = _reviews[key];
        if (r.drawBlock == 0) revert CommitteeNoReview(key);
    }

    /// @dev A review whose jurors were drawn (a cancelled one never is).
    function _drawn(bytes32 key) private view returns (Review storage r) {
        r = _existing(key);
        if (r.revealDeadline == 0) revert CommitteeNotDrawn(key);
    }

    function _removeFromPool(address juror) private {
        uint256 index = _poolIndex[juror] - 1;
        address last = _pool[_pool.length - 1];
        _pool[index] = last;
        _poolIndex[last] = index + 1;
        _pool.pop();
        delete _poolIndex[juror];
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert CommitteeTransferFailed(to, amount);
    }
}
