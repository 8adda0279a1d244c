// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IBatchCourt} from "./interfaces/IBatchCourt.sol";
import {IBatchRegistry} from "./interfaces/IBatchRegistry.sol";
import {ICommitteeVerifier} from "./interfaces/ICommitteeVerifier.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IDetailVerifier} from "./interfaces/IDetailVerifier.sol";
import {FingerprintRule} from "./FingerprintRule.sol";
import {ItemsTree} from "./ItemsTree.sol";

/// @title BatchCourt: a batched original revokes a single copy (issue 16)
/// @notice See {IBatchCourt}. A third contract because neither registry has the bytes for the
/// dispute (EIP-170): the Registry only grants it `revokeCopy`, once, at deployment. The leaves
/// and the items-tree walk are the BatchRegistry's own (`fingerprintLeaf`, `itemLeaf`,
/// `ItemsTree`), the record hash the Registry's (`recordHashOf`): no rule has a second copy here.
/// Invariants: Ether held == the deposits of open mis-attestation claims (one each) + the
/// deposits of open (one) and contested (two) challenges + for each
/// Upheld challenge its deposits (one or two) and the copy's bond (held until `settle`; a
/// copy's bond passes through within `revokeDuplicateImage`'s transaction, and an upheld
/// mis-attestation claim's) + the payments refused and not yet collected (`withdrawOwed`);
/// no ESP slash ever comes here (the EspRegistry burns every one: a dispute's `slash` stays 0);
/// nothing is paid for a win before the Registry's `rewardHoldBlocks` after it; each
/// ordered pair is challenged again only after its challenge ended Void or Reversed; a decision revokes
/// only the copy named by the record proven at the challenge, and only while it is still that
/// record and active; a mis-attestation claim revokes only on its own committee review's majority
/// (the record's `round`-th), the token still the record claimed against.
contract BatchCourt is IBatchCourt, ReentrancyGuardTransient {
    uint256 private constant _INDEX_BITS = 32;
    uint256 private constant _INDEX_MASK = 0xffffffff;
    /// @notice Where the rest of a revoked copy's bond goes (the Registry's `BURN`).
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;

    IBatchRegistry private immutable _batches;
    IRegistry private immutable _registry;
    IDetailVerifier private immutable _verifier;
    address private immutable _htlc;
    uint256 private immutable _bond;
    uint256 private immutable _challengeDeposit;
    uint256 private immutable _challengeReward;
    uint256 private immutable _matchThreshold;
    uint64 private immutable _disputeWindow;
    uint64 private immutable _rewardHoldBlocks;
    /// @dev The committee's `reviewFee` (immutable there), refunded to an upheld claimant.
    uint256 private immutable _reviewFee;

    mapping(bytes32 pair => Dispute) private _disputes;
    mapping(uint256 tokenId => Misattestation) private _claims;
    /// @dev Payments refused by their receiver, kept for `withdrawOwed` (as the Registry's).
    mapping(address account => uint256) private _refused;
    /// @dev The gas a payment forwards (an account that needs more collects with `withdrawOwed`).
    uint256 private constant _PAYEE_GAS = 100_000;

    /// @dev `registry`, `batches`, `verifier` and `htlc` as the deployment's (the
    /// BatchRegistry's); deposit, reward, threshold, window and reward hold are the Registry's.
    constructor(IRegistry registry_, IBatchRegistry batches, IDetailVerifier verifier, address htlc) {
        _registry = registry_;
        _batches = batches;
        _verifier = verifier;
        _htlc = htlc;
        IRegistry.Parameters memory p = registry_.parameters();
        _bond = p.bond;
        _challengeDeposit = p.challengeDeposit;
        _challengeReward = p.challengeReward;
        _matchThreshold = p.matchThreshold;
        _disputeWindow = p.disputeWindow;
        _rewardHoldBlocks = p.rewardHoldBlocks;
        // zero with another verifier (a detail rule): no mis-attestation claim is possible there
        uint256 fee;
        try ICommitteeVerifier(address(verifier)).parameters() returns (ICommitteeVerifier.Params memory c) {
            fee = c.reviewFee;
        } catch {}
        _reviewFee = fee;
    }

    /// @dev The revoked copy's bond, sent by the Registry's `revokeCopied`, or a revoked batch
    /// item's reward (its whole bond for a claim), sent by the BatchRegistry's (no one else pays
    /// in here but through `challenge`, `contest`, the claims and `reinstate`).
    receive() external payable {
        if (msg.sender != address(_registry) && msg.sender != address(_batches)) revert CourtWrongValue(msg.value, 0);
    }

    /// @inheritdoc IBatchCourt
    function challenge(
        uint256 original,
        bytes32 fpA,
        bytes32[] calldata proofA,
        uint256 duplicate,
        IRegistry.RecordProof calldata b
    ) external payable nonReentrant {
        if (msg.value != _challengeDeposit) revert CourtWrongValue(msg.value, _challengeDeposit);
        IBatchRegistry.Batch memory a = _provenItem(original, fpA, proofA);
        if (IERC721(address(_batches)).ownerOf(original) != msg.sender) revert CourtNotOwner(original, msg.sender);
        IRegistry.Record memory rec = _registry.recordOf(duplicate);
        if (rec.status == IRegistry.Status.None) revert CourtUnknownToken(duplicate);
        if (rec.status != IRegistry.Status.Active) revert CourtTokenRevoked(duplicate);
        if (_registry.recordHashOf(b) != rec.recordHash) revert CourtBadProof(duplicate);
        if (a.priorityBlock >= b.priorityBlock) revert CourtChallengeOutOfOrder(original, duplicate);
        // One ESP attesting both chose whose lock is older: an equivocation, which revokes nothing.
        if (a.esp == b.esp) revert CourtSameEsp(original, duplicate, a.esp);
        // An older lock must not carry a copy of a published (or pending, or leaked) image: the
        // original was committed before the duplicate's fee was locked and before its commit.
        uint64 bar = b.priorityBlock < b.commitBlock ? b.priorityBlock : b.commitBlock;
        if (a.commitBlock >= bar) revert CourtCommittedAfterPublication(original, a.commitBlock, bar);
        uint256 distance = FingerprintRule.distance(fpA, b.fingerprint);
        if (distance > _matchThreshold) revert CourtNotAdmissible(original, duplicate, distance);
        Dispute storage d = _disputes[_pairKey(original, duplicate)];
        IRegistry.DisputeState was = d.state;
        // reopened when the last decided nothing about the pair: Void, or Reversed (its winner,
        // `original`, was revoked then and is active again), as the BatchRegistry's `_open`
        if (
            was != IRegistry.DisputeState.None && was != IRegistry.DisputeState.Void
                && was != IRegistry.DisputeState.Reversed
        ) {
            revert CourtDisputeExists(original, duplicate, was);
        }
        uint64 deadline = uint64(block.number) + _disputeWindow;
        d.challenger = msg.sender;
        d.deadline = deadline;
        d.state = IRegistry.DisputeState.Open;
        // a reopened dispute's contester: `settle` must not pay it again
        if (d.contester != address(0)) d.contester = address(0);
        d.recordHash = rec.recordHash;
        emit ChallengeOpened(original, duplicate, msg.sender, distance, deadline);
    }

    /// @inheritdoc IBatchCourt
    function claimMisattested(uint256 tokenId, IRegistry.RecordProof calldata b)
        external
        payable
        nonReentrant
        returns (bytes32 key)
    {
        if (msg.value <= _challengeDeposit) revert CourtWrongValue(msg.value, _challengeDeposit);
        // A Registry id is a content hash (a sha256): below 2^96 it is a batch item's id, whose
        // claim slot a single with that id (an attested forgery) would otherwise hold open.
        if (tokenId >> 96 == 0) revert CourtUnknownToken(tokenId);
        IRegistry.Record memory rec = _registry.recordOf(tokenId);
        if (rec.status == IRegistry.Status.None) revert CourtUnknownToken(tokenId);
        if (rec.status != IRegistry.Status.Active) revert CourtTokenRevoked(tokenId);
        if (_registry.recordHashOf(b) != rec.recordHash) revert CourtBadProof(tokenId);
        key = _openClaim(tokenId, rec.recordHash, b);
    }

    /// @inheritdoc IBatchCourt
    function claimMisattestedItem(
        uint256 tokenId,
        bytes32 fp,
        bytes32[] calldata fpProof,
        bytes calldata detail,
        IBatchRegistry.ItemOpening calldata o
    ) external payable nonReentrant returns (bytes32 key) {
        if (msg.value <= _challengeDeposit) revert CourtWrongValue(msg.value, _challengeDeposit);
        // an existing, active item whose attested fingerprint leaf is `fp`, whose item leaf holds
        // keccak256(detail) and `o.contentHash` (the bytes the jurors judge)
        IBatchRegistry.Batch memory a = _provenItem(tokenId, fp, fpProof);
        bytes32 detailHash = keccak256(detail);
        _checkOpening(tokenId, detailHash, o);
        // the review's record: the attested values and the attesting ESP (never drawn)
        IRegistry.RecordProof memory b;
        (b.fingerprint, b.detailHash, b.esp) = (fp, detailHash, a.esp);
        key = _openClaim(tokenId, _itemRecordHash(fp, detailHash, a.esp), b);
        // the jurors read the item's content hash and descriptor here (a manifest may be withheld)
        emit ItemOpened(tokenId, o.contentHash, o.seed, detail);
    }

    /// @dev Opens claim `tokenId` against `recordHash` (the Registry's record, or an item's
    /// `_itemRecordHash`) and requests its record review, this round's.
    function _openClaim(uint256 tokenId, bytes32 recordHash, IRegistry.RecordProof memory b)
        private
        returns (bytes32 key)
    {
        Misattestation storage c = _claims[tokenId];
        if (c.state == IRegistry.DisputeState.Open) revert CourtDisputeExists(0, tokenId, c.state);
        // a new round after a Rejected or Void claim: a plagiarist's own failed claim (its
        // bytes withheld) must not make its copy unclaimable
        uint32 round = c.round + 1;
        (c.claimant, c.round, c.state, c.recordHash) = (msg.sender, round, IRegistry.DisputeState.Open, recordHash);
        key = ICommitteeVerifier(address(_verifier)).requestRecordReview{value: msg.value - _challengeDeposit}(
            tokenId, b, msg.sender, round
        );
        emit MisattestationClaimed(tokenId, msg.sender, b.esp, key);
    }

    /// @inheritdoc IBatchCourt
    function finalizeMisattested(uint256 tokenId, IRegistry.RecordProof calldata b)
        external
        nonReentrant
        returns (IRegistry.DisputeState state)
    {
        Misattestation storage c = _claims[tokenId];
        if (c.state != IRegistry.DisputeState.Open) revert CourtDisputeState(0, tokenId, c.state);
        bytes32 recordHash = c.recordHash;
        // a batch item's claim (`_itemRecordHash`: its lowest bit set, a Registry record hash's
        // lowest eight bytes are cleared), decided on the item's status (never reclaimed)
        bool item = uint64(uint256(recordHash)) != 0;
        bool active;
        if (item) {
            if (_itemRecordHash(b.fingerprint, b.detailHash, b.esp) != recordHash) revert CourtBadProof(tokenId);
            active = _batches.statusOf(tokenId) == IBatchRegistry.Status.Active;
        } else {
            if (_registry.recordHashOf(b) != recordHash) revert CourtBadProof(tokenId);
            IRegistry.Record memory rec = _registry.recordOf(tokenId);
            active = rec.status == IRegistry.Status.Active && rec.recordHash == recordHash;
        }
        ICommitteeVerifier committee = ICommitteeVerifier(address(_verifier));
        // the committee's key of this claim's review (its `requestRecordReview`)
        bytes32 key = keccak256(abi.encode(address(this), uint256(0), tokenId, b.fingerprint, b.detailHash, uint256(c.round)));
        ICommitteeVerifier.Review memory r = committee.review(key);
        uint64 deadline = r.revealDeadline;
        if (!r.cancelled && (deadline == 0 || block.number <= deadline)) revert CourtDisputeWindow(0, tokenId, deadline);
        address claimant = c.claimant;
        if (r.cancelled || 2 * (uint256(r.yes) + r.no) <= r.jurors.length || !active) {
            // no verdict (too few jurors, no quorum: the fee is refunded at the committee), or
            // the token reclaimed or revoked since: nothing decided
            state = IRegistry.DisputeState.Void;
        } else if (r.yes > r.no) {
            state = IRegistry.DisputeState.Upheld;
        } else {
            state = IRegistry.DisputeState.Rejected;
        }
        c.state = state;
        emit MisattestationDecided(tokenId, claimant, state);
        if (state == IRegistry.DisputeState.Upheld) {
            // Revoked for good; the ESP's slash is burned (at the EspRegistry). The copy's bond
            // comes here (an item's too: `original` 0 asks the BatchRegistry for all of it), and
            // pays the claimant the reward and back the review fee it paid the jurors, as far as
            // it goes; the rest is burned. Never more than the fee: a plagiarist claiming its own
            // copy still loses its bond (less the reward) and its ESP's slash.
            uint256 held = address(this).balance;
            if (item) _batches.revokeCopied(tokenId, 0, b.esp, BURN);
            else _registry.revokeCopied(tokenId, 0, b.esp, BURN);
            uint256 bond = address(this).balance - held;
            uint256 paid = _challengeReward + _reviewFee;
            if (paid > bond) paid = bond;
            _send(BURN, bond - paid);
            _send(claimant, _challengeDeposit + paid);
        } else {
            address to = claimant;
            if (state == IRegistry.DisputeState.Rejected) {
                if (item) {
                    // the item's holder; while the escrow holds it, its batch's producer (the
                    // BatchRegistry keeps its escrowers private)
                    to = IERC721(address(_batches)).ownerOf(tokenId);
                    if (to == _htlc) to = _batches.batchOf(tokenId >> _INDEX_BITS).owner;
                } else {
                    to = _accusedOf(tokenId);
                }
            }
            _send(to, _challengeDeposit);
        }
    }

    /// @dev A batch item's claimed record: its attested leaf values and ESP, the lowest bit set
    /// (never a Registry record hash, whose lowest eight bytes are cleared).
    function _itemRecordHash(bytes32 fp, bytes32 detailHash, address esp) private pure returns (bytes32) {
        return keccak256(abi.encode(fp, detailHash, esp)) | bytes32(uint256(1));
    }

    /// @inheritdoc IBatchCourt
    function misattestationOf(uint256 tokenId) external view returns (Misattestation memory) {
        return _claims[tokenId];
    }

    /// @inheritdoc IBatchCourt
    function contest(uint256 original, uint256 duplicate) external payable nonReentrant {
        if (msg.value != _challengeDeposit) revert CourtWrongValue(msg.value, _challengeDeposit);
        Dispute storage d = _disputeIn(original, duplicate, IRegistry.DisputeState.Open);
        if (block.number > d.deadline) revert CourtDisputeWindow(original, duplicate, d.deadline);
        if (_accusedOf(duplicate) != msg.sender) revert CourtNotOwner(duplicate, msg.sender);
        d.state = IRegistry.DisputeState.Contested;
        d.contester = msg.sender;
        d.deadline = uint64(block.number) + _disputeWindow; // the last block to resolve
        emit ChallengeContested(original, duplicate, msg.sender);
    }

    /// @inheritdoc IBatchCourt
    function resolve(
        uint256 original,
        uint256 duplicate,
        bytes calldata detailA,
        IBatchRegistry.ItemOpening calldata a,
        bytes calldata detailB,
        IRegistry.RecordProof calldata b
    ) external nonReentrant returns (bool upheld) {
        Dispute storage d = _disputeIn(original, duplicate, IRegistry.DisputeState.Contested);
        if (_registry.recordHashOf(b) != d.recordHash || keccak256(detailB) != b.detailHash) {
            revert CourtBadProof(duplicate);
        }
        _checkOpening(original, keccak256(detailA), a);
        address challenger = d.challenger;
        address contester = d.contester;
        if (!_stillActive(duplicate, d)) {
            // revoked or reclaimed meanwhile: nothing left to decide, both deposits return
            d.state = IRegistry.DisputeState.Void;
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Void, true);
            _send(challenger, _challengeDeposit);
            _send(contester, _challengeDeposit);
            return false;
        }
        upheld = _batches.statusOf(original) == IBatchRegistry.Status.Active
            && _verifier.matchesFor(original, duplicate, detailA, detailB);
        if (upheld) {
            _uphold(original, duplicate, d, b.esp, true);
        } else {
            d.state = IRegistry.DisputeState.Rejected;
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Rejected, true);
            _send(contester, 2 * _challengeDeposit); // its deposit, and the challenger's as its costs
        }
    }

    /// @inheritdoc IBatchCourt
    function finalize(uint256 original, uint256 duplicate, IRegistry.RecordProof calldata b)
        external
        nonReentrant
        returns (bool upheld)
    {
        Dispute storage d = _disputes[_pairKey(original, duplicate)];
        IRegistry.DisputeState state = d.state;
        if (state != IRegistry.DisputeState.Open && state != IRegistry.DisputeState.Contested) {
            revert CourtDisputeState(original, duplicate, state);
        }
        if (block.number <= d.deadline) revert CourtDisputeWindow(original, duplicate, d.deadline);
        bool contested = state == IRegistry.DisputeState.Contested;
        if (!_stillActive(duplicate, d)) {
            d.state = IRegistry.DisputeState.Void; // revoked or reclaimed since the challenge
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Void, contested);
            _send(d.challenger, _challengeDeposit);
            if (contested) _send(d.contester, _challengeDeposit);
            return false;
        }
        if (contested) {
            // Contested and never resolved: the challenger, the only one sure to hold the batch
            // item's detail, did not run the detail rule in the whole window. Not while the
            // committee's review of it runs (`resolve` waits for it; red team 7).
            ICommitteeVerifier(address(_verifier)).checkReviewed(original, duplicate);
            d.state = IRegistry.DisputeState.Rejected;
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Rejected, true);
            _send(d.contester, 2 * _challengeDeposit);
            return false;
        }
        if (_batches.statusOf(original) != IBatchRegistry.Status.Active) {
            d.state = IRegistry.DisputeState.Rejected; // the challenger's own item was revoked as a copy
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Rejected, false);
            _send(_accusedOf(duplicate), _challengeDeposit);
            return false;
        }
        if (_registry.recordHashOf(b) != d.recordHash) revert CourtBadProof(duplicate);
        _uphold(original, duplicate, d, b.esp, false);
        return true;
    }

    /// @inheritdoc IBatchCourt
    function settle(uint256 original, uint256 duplicate) external nonReentrant {
        Dispute storage d = _disputeIn(original, duplicate, IRegistry.DisputeState.Upheld);
        address contester = d.contester; // zero unless contested (`challenge` clears a Void one's)
        bool contested = contester != address(0);
        uint256 deposits = contested ? 2 * _challengeDeposit : _challengeDeposit;
        if (_batches.statusOf(original) == IBatchRegistry.Status.Revoked) {
            // The winner was itself a copy. The Registry cannot reinstate the single copy, so its
            // side is compensated with the held deposits and the bond (the copy's ESP slash was
            // burned at the EspRegistry: paid to that side, an attacker holding both tokens would
            // farm the copy's honest ESP).
            d.state = IRegistry.DisputeState.Reversed;
            emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Reversed, contested);
            _send(contested ? contester : _accusedOf(duplicate), deposits + _bond);
            return;
        }
        if (block.number < d.deadline) revert CourtRewardHeld(duplicate, d.deadline);
        d.state = IRegistry.DisputeState.Settled;
        emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Settled, contested);
        _send(d.challenger, deposits + _challengeReward);
        _send(BURN, _bond - _challengeReward);
    }

    /// @inheritdoc IBatchCourt
    function reinstate(uint256 original, uint256 duplicate) external payable nonReentrant {
        if (msg.value != _bond) revert CourtWrongValue(msg.value, _bond);
        Dispute storage d = _disputeIn(original, duplicate, IRegistry.DisputeState.Settled);
        if (_batches.statusOf(original) != IBatchRegistry.Status.Revoked) revert CourtWinnerActive(original);
        d.state = IRegistry.DisputeState.Reversed;
        emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Reversed, false);
        _registry.undoRevokeCopied{value: msg.value}(duplicate, original);
    }

    /// @inheritdoc IBatchCourt
    function revokeDuplicateImage(
        uint256 item,
        bytes32 detailHash,
        IBatchRegistry.ItemOpening calldata opening,
        uint256 single,
        IRegistry.RecordProof calldata b
    ) external nonReentrant returns (uint256 revoked) {
        IBatchRegistry.Status itemStatus = _batches.statusOf(item);
        if (itemStatus == IBatchRegistry.Status.None) revert CourtUnknownToken(item);
        if (itemStatus != IBatchRegistry.Status.Active) revert CourtTokenRevoked(item);
        IBatchRegistry.Batch memory a = _checkOpening(item, detailHash, opening);
        // A single token's id is its content hash: equal ids are the same bytes.
        if (uint256(opening.contentHash) != single) revert CourtNotSameImage(item, single);
        IRegistry.Record memory rec = _registry.recordOf(single);
        if (rec.status == IRegistry.Status.None) revert CourtUnknownToken(single);
        if (rec.status != IRegistry.Status.Active) revert CourtTokenRevoked(single);
        if (_registry.recordHashOf(b) != rec.recordHash) revert CourtBadProof(single);
        if (a.esp != b.esp) revert CourtNotSameEsp(item, single);
        bool itemFirst;
        address esp;
        if (a.owner == rec.producer) {
            // One producer, its own image twice: only a twin its producer holds outright is
            // revoked (both held: the later published), so a double registration costs its
            // producer and never a buyer. Neither held (sold, moved to another account, or in the
            // escrow): refused. A sale and a move to the producer's own second account look the
            // same on chain, and so do a pending sale and a listing to it, so any ranking of
            // those revoked a buyer's token for a producer with a Sybil (red team 3). The ESP did
            // nothing wrong, so nobody is slashed (a slash here would be a bounty the producer
            // could farm from its ESP).
            bool itemHeld = IERC721(address(_batches)).ownerOf(item) == a.owner;
            bool singleHeld = IERC721(address(_registry)).ownerOf(single) == a.owner;
            if (!itemHeld && !singleHeld) revert CourtNotOwner(item, a.owner);
            itemFirst = itemHeld == singleHeld ? a.revealBlock < b.revealBlock : !itemHeld;
        } else {
            // The ESP attested one image to two payers: the earlier lock paid for it (the
            // Registry's `reclaim`), and the ESP's slash is burned. Paid to a holder, it would
            // be a bounty: two Sybils asking an honest ESP for one request (the bundled model's
            // bytes are fixed by prompt and seed) would collect it for two fees and one bond.
            if (a.priorityBlock == b.priorityBlock) revert CourtChallengeOutOfOrder(item, single);
            itemFirst = a.priorityBlock < b.priorityBlock;
            esp = a.esp;
        }
        if (itemFirst) {
            revoked = single;
            // The Registry sends the copy's bond here; with no ESP to report it slashes nobody.
            _registry.revokeCopied(single, item, esp, BURN);
            _send(BURN, _bond - _challengeReward);
        } else {
            revoked = item;
            // The BatchRegistry sends `challengeReward` here and burns the rest of the item's bond.
            _batches.revokeCopied(item, single, esp, BURN);
        }
        emit DuplicateImageRevoked(revoked, itemFirst ? item : single, msg.sender, esp != address(0));
        _send(msg.sender, _challengeReward);
    }

    /// @inheritdoc IBatchCourt
    function revokeDuplicateItem(
        uint256 first,
        bytes32 firstDetailHash,
        IBatchRegistry.ItemOpening calldata firstOpening,
        uint256 second,
        bytes32 secondDetailHash,
        IBatchRegistry.ItemOpening calldata secondOpening
    ) external nonReentrant returns (uint256 revoked) {
        if (first == second || firstOpening.contentHash != secondOpening.contentHash) {
            revert CourtNotSameImage(first, second);
        }
        _checkActiveItem(first);
        _checkActiveItem(second);
        IBatchRegistry.Batch memory a = _checkOpening(first, firstDetailHash, firstOpening);
        IBatchRegistry.Batch memory b = _checkOpening(second, secondDetailHash, secondOpening);
        if (a.esp != b.esp) revert CourtNotSameEsp(first, second);
        bool firstKept;
        address esp;
        if (a.owner == b.owner) {
            // One producer, its own image in two batches (or twice in one): as for an item and a
            // single, only a twin it holds outright is revoked (both held: the later published).
            bool firstHeld = IERC721(address(_batches)).ownerOf(first) == a.owner;
            bool secondHeld = IERC721(address(_batches)).ownerOf(second) == a.owner;
            if (!firstHeld && !secondHeld) revert CourtNotOwner(first, a.owner);
            firstKept = firstHeld == secondHeld ? a.revealBlock <= b.revealBlock : !firstHeld;
        } else {
            // The ESP attested one image to two payers: the earlier lock paid for it, and the
            // ESP's slash is burned (see `revokeDuplicateImage`).
            if (a.priorityBlock == b.priorityBlock) revert CourtChallengeOutOfOrder(first, second);
            firstKept = a.priorityBlock < b.priorityBlock;
            esp = a.esp;
        }
        (uint256 kept, uint256 gone) = firstKept ? (first, second) : (second, first);
        // The BatchRegistry sends `challengeReward` here and burns the rest of the item's bond.
        _batches.revokeCopied(gone, kept, esp, BURN);
        emit DuplicateImageRevoked(gone, kept, msg.sender, esp != address(0));
        _send(msg.sender, _challengeReward);
        return gone;
    }

    /// @inheritdoc IBatchCourt
    function disputeOf(uint256 original, uint256 duplicate) external view returns (Dispute memory) {
        return _disputes[_pairKey(original, duplicate)];
    }

    /// @inheritdoc IBatchCourt
    function batchRegistry() external view returns (IBatchRegistry) {
        return _batches;
    }

    /// @inheritdoc IBatchCourt
    function registry() external view returns (IRegistry) {
        return _registry;
    }

    // ---------------------------------------------------------------- internals

    /// @dev The batch of an existing, active item whose fingerprint `fp` is proven by `proof`.
    function _provenItem(uint256 tokenId, bytes32 fp, bytes32[] calldata proof)
        private
        view
        returns (IBatchRegistry.Batch memory a)
    {
        a = _batches.batchOf(tokenId >> _INDEX_BITS);
        uint256 index = tokenId & _INDEX_MASK;
        if (index >= a.count) revert CourtUnknownToken(tokenId);
        if (_batches.statusOf(tokenId) != IBatchRegistry.Status.Active) revert CourtTokenRevoked(tokenId);
        if (!MerkleProof.verifyCalldata(proof, a.fpRoot, _batches.fingerprintLeaf(index, fp))) {
            revert CourtBadProof(tokenId);
        }
    }

    /// @dev Checks a batch item's opening (its detail's hash, content hash, seed and proof)
    /// against its batch's ordered items root; returns the batch.
    function _checkOpening(uint256 tokenId, bytes32 detailHash, IBatchRegistry.ItemOpening calldata o)
        private
        view
        returns (IBatchRegistry.Batch memory a)
    {
        a = _batches.batchOf(tokenId >> _INDEX_BITS);
        uint256 index = tokenId & _INDEX_MASK;
        if (index >= a.count) revert CourtUnknownToken(tokenId);
        bytes32 leaf = _batches.itemLeaf(index, o.contentHash, detailHash, o.seed);
        (bytes32 root, bool ok) = ItemsTree.rootOf(leaf, index, a.count, o.proof);
        if (!ok || root != a.itemsRoot) revert CourtBadProof(tokenId);
    }

    /// @dev An existing, active batch item.
    function _checkActiveItem(uint256 tokenId) private view {
        IBatchRegistry.Status status = _batches.statusOf(tokenId);
        if (status == IBatchRegistry.Status.None) revert CourtUnknownToken(tokenId);
        if (status != IBatchRegistry.Status.Active) revert CourtTokenRevoked(tokenId);
    }

    /// @dev The copy is still active and still the record that was challenged (not reclaimed).
    function _stillActive(uint256 duplicate, Dispute storage d) private view returns (bool) {
        IRegistry.Record memory rec = _registry.recordOf(duplicate);
        return rec.status == IRegistry.Status.Active && rec.recordHash == d.recordHash;
    }

    /// @dev Revokes the copy through the Registry, which sends its bond here and slashes its ESP
    /// (the slash burned at the EspRegistry). Nothing is paid: deposits and bond are held until
    /// `settle`, at least `rewardHoldBlocks`.
    function _uphold(uint256 original, uint256 duplicate, Dispute storage d, address esp, bool contested)
        private
    {
        d.state = IRegistry.DisputeState.Upheld;
        d.deadline = uint64(block.number) + _rewardHoldBlocks;
        emit ChallengeDecided(original, duplicate, IRegistry.DisputeState.Upheld, contested);
        _registry.revokeCopied(duplicate, original, esp, BURN);
    }

    function _disputeIn(uint256 original, uint256 duplicate, IRegistry.DisputeState expected)
        private
        view
        returns (Dispute storage d)
    {
        d = _disputes[_pairKey(original, duplicate)];
        if (d.state != expected) revert CourtDisputeState(original, duplicate, d.state);
    }

    /// @dev Who answers for a single token: its owner, or whoever put it in the escrow (its
    /// seller, the Registry's `escrowerOf`) while the escrow holds it, as at the Registry.
    function _accusedOf(uint256 tokenId) private view returns (address owner) {
        owner = IERC721(address(_registry)).ownerOf(tokenId);
        if (owner == _htlc) owner = _registry.escrowerOf(tokenId);
    }

    /// @dev Pays `amount` to `to`; a refused payment is kept for `to`'s `withdrawOwed`, so no
    /// receiver can block the call that pays it, by refusing it or by a return-data bomb (a Void decision refunds both sides).
    /// At most `_PAYEE_GAS` is forwarded: a payee that burns what it gets costs the caller no
    /// more than that (red team 3: all of it made a customer's resolve +1.45 M gas).
    function _send(address to, uint256 amount) private {
        _pay(to, amount, _PAYEE_GAS);
    }

    /// @dev `_send` with `limit` gas forwarded (`withdrawOwed`: all of it, the payee's own call).
    function _pay(address to, uint256 amount, uint256 limit) private {
        if (amount == 0) return;
        bool ok;
        // A call that copies no return data: a payee answering with a return-data bomb pays
        // for its own memory, not the caller's (Solidity's `call` copies it all).
        assembly ("memory-safe") {
            ok := call(limit, to, amount, 0, 0, 0, 0)
        }
        if (!ok) _refused[to] += amount;
    }

    /// @inheritdoc IBatchCourt
    /// @dev No re-entrancy guard: the balance is cleared before the call.
    function withdrawOwed() external {
        uint256 amount = _refused[msg.sender];
        delete _refused[msg.sender];
        _pay(msg.sender, amount, gasleft());
    }

    function _pairKey(uint256 original, uint256 duplicate) private pure returns (bytes32) {
        return keccak256(abi.encode(original, duplicate));
    }
}
