// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

import {IRegistry} from "./interfaces/IRegistry.sol";
import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {IHashTimeLock} from "./interfaces/IHashTimeLock.sol";
import {FingerprintRule} from "./FingerprintRule.sol";
import {IDetailVerifier} from "./interfaces/IDetailVerifier.sol";
import {ICommitteeVerifier} from "./interfaces/ICommitteeVerifier.sol";

/// @title Registry (Proof-of-AIGC v2)
/// @notice See {IRegistry} for the protocol. Invariants: Ether held == bond x (unforfeited
/// commitments + active tokens + upheld, unsettled revocations) + the deposits of open, contested
/// and upheld-unsettled challenges + the payments refused and not yet collected; one token per content hash, ever; a token leaves Revoked only through
/// `settle` when the token that revoked it was itself revoked; each ordered pair is challenged
/// at most once. The owner (the deployer, `Ownable`) can change only the metadata locations:
/// `baseURI` and `contractURI`; it has no power over tokens, records, bonds or challenges. The
/// court fixed at deployment (BatchCourt) can revoke an active token through `revokeCopied` when
/// a batched original's challenge of it is upheld.
contract Registry is IRegistry, ERC721, ERC2981, EIP712, ReentrancyGuardTransient, Ownable {
    /// @notice Deployment parameters (a struct keeps the constructor readable).
    struct Config {
        IEspRegistry espRegistry;
        IHashTimeLock htlc;
        IDetailVerifier detailVerifier;
        Parameters params;
        string baseURI;
        string contractURI;
        address court; // the BatchCourt, allowed to `revokeCopied`
    }

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(bytes32 taskId,address producer,bytes32 contentHash,bytes32 fingerprint,bytes32 detailHash,bytes32 modelId,uint256 seed)"
    );
    /// @notice Where burned bonds go: nobody holds its key.
    address public constant BURN = 0x000000000000000000000000000000000000dEaD;
    uint256 private constant _STATUS_MASK = 0xff;
    /// @dev The second byte of a record counts its reclaims (its epoch): a dispute remembers the
    /// epochs it was opened at, and a reclaim of either token since then voids it. The next six
    /// bytes hold the block the record was written (its reveal or its last reclaim): the token
    /// may not move (into the escrow or to anyone) while an earlier payer can still reclaim it
    /// (`_update`).
    uint256 private constant _META_MASK = 0xffffffffffffffff;

    IEspRegistry private immutable _espRegistry;
    IHashTimeLock private immutable _htlc;
    IDetailVerifier private immutable _verifier;
    uint256 private immutable _detailLength;
    uint256 private immutable _bond;
    uint256 private immutable _challengeDeposit;
    uint256 private immutable _challengeReward;
    uint256 private immutable _matchThreshold;
    uint64 private immutable _commitTtl;
    uint64 private immutable _registrationWindow;
    uint64 private immutable _disputeWindow;
    uint64 private immutable _rewardHoldBlocks;
    uint96 private immutable _royaltyBps;
    /// @dev The one contract allowed to `revokeCopied` (issue 16: batched originals), fixed at
    /// deployment (its address is predicted from the deployer's nonce).
    address private immutable _court;
    string private _baseTokenURI;
    string private _contractURI;

    /// @dev One slot per token: keccak256(abi.encode(RecordProof)) with its lowest byte replaced
    /// by the Status. The fingerprint, detail hash, ESP and priority come back as calldata.
    mapping(uint256 tokenId => uint256 packed) private _records;
    mapping(bytes32 commitment => uint64 blockNumber) private _commits;
    mapping(uint256 tokenId => address) private _producers;
    mapping(uint256 tokenId => string) private _uris;
    mapping(bytes32 pair => Dispute) private _disputes;
    /// @dev Who put each token in the hash-time-lock escrow last (its seller: it answers for the
    /// token while the escrow holds it), since which block, and the blocks it spent there before.
    struct Escrow {
        address seller;
        uint64 since;
        uint32 blocks;
    }

    mapping(uint256 tokenId => Escrow) private _escrows;
    /// @dev Payments refused by their receiver, kept for `withdrawOwed`.
    mapping(address account => uint256) private _refused;
    /// @dev The gas a payment forwards (an account that needs more collects with `withdrawOwed`).
    uint256 private constant _PAYEE_GAS = 100_000;

    constructor(Config memory c)
        ERC721("Proof-of-AIGC", "AIGC")
        EIP712("Proof-of-AIGC", "2")
        Ownable(msg.sender)
    {
        if (c.params.challengeReward > c.params.bond) revert RegistryWrongValue(c.params.challengeReward, c.params.bond);
        // A challenge of a winner opened within a dispute window of its win can be finalized (and
        // the win reversed) from two windows and one block after the win: the winner may settle
        // only a block later, so `settle` cannot be ordered first in that block.
        uint64 hold = 2 * c.params.disputeWindow + 2;
        // Contested in the window's last block, it is resolved only after the committee's review
        // the winner requests then (red team 7: `resolve` reverts `CommitteeReviewPending` until
        // the reveal deadline): its draw two blocks on, its commit and reveal phases, `resolve`
        // the block after. Zero with a plain detail rule (no `parameters`). Constructor code:
        // no runtime byte (EIP-170) moves.
        (bool ok, bytes memory data) =
            address(c.detailVerifier).staticcall(abi.encodeCall(ICommitteeVerifier.parameters, ()));
        if (ok && data.length == 5 * 32) {
            ICommitteeVerifier.Params memory v = abi.decode(data, (ICommitteeVerifier.Params));
            hold += v.commitBlocks + v.revealBlocks + 3;
        }
        if (c.params.rewardHoldBlocks < hold) revert RegistryWrongValue(c.params.rewardHoldBlocks, hold);
        // A fee is claimed (the image delivered) within the HTLC's claim window of its lock, so
        // a producer always has a block left to commit inside the registration window.
        uint64 claimWindow = c.htlc.claimWindow();
        if (claimWindow >= c.params.registrationWindow) {
            revert RegistryWrongValue(claimWindow, c.params.registrationWindow);
        }
        _espRegistry = c.espRegistry;
        _htlc = c.htlc;
        _verifier = c.detailVerifier;
        _detailLength = c.detailVerifier.length();
        _bond = c.params.bond;
        _challengeDeposit = c.params.challengeDeposit;
        _challengeReward = c.params.challengeReward;
        _matchThreshold = c.params.matchThreshold;
        _commitTtl = c.params.commitTtl;
        _registrationWindow = c.params.registrationWindow;
        _disputeWindow = c.params.disputeWindow;
        _rewardHoldBlocks = c.params.rewardHoldBlocks;
        _royaltyBps = c.params.royaltyBps;
        _baseTokenURI = c.baseURI;
        _contractURI = c.contractURI;
        _court = c.court;
    }

    // ---------------------------------------------------------------- metadata locations (owner)

    /// @inheritdoc IRegistry
    function setBaseURI(string calldata uri) external onlyOwner {
        _baseTokenURI = uri;
        emit BatchMetadataUpdate(0, type(uint256).max);
    }

    /// @inheritdoc IRegistry
    function setContractURI(string calldata uri) external onlyOwner {
        _contractURI = uri;
        emit ContractURIUpdated();
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IRegistry
    function commit(bytes32 commitment) external payable {
        if (msg.value != _bond) revert RegistryWrongValue(msg.value, _bond);
        if (_commits[commitment] != 0) revert RegistryCommitExists(commitment);
        _commits[commitment] = uint64(block.number);
        emit Committed(commitment, msg.sender, uint64(block.number));
    }

    /// @inheritdoc IRegistry
    function forfeitCommit(bytes32 commitment) external nonReentrant {
        uint64 at = _commits[commitment];
        if (at == 0) revert RegistryUnknownCommit(commitment);
        if (block.number <= at + _commitTtl) revert RegistryCommitNotExpired(commitment, at + _commitTtl);
        delete _commits[commitment];
        emit CommitForfeited(commitment, _bond);
        _send(BURN, _bond);
    }

    /// @inheritdoc IRegistry
    function reveal(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes calldata detail,
        bytes calldata attestation
    ) external returns (uint256 tokenId) {
        // No re-entrancy guard: the only external calls are views of the immutable HTLC and ESP
        // registry, and `_mint` (not `_safeMint`) calls no receiver; no Ether moves.
        tokenId = uint256(r.contentHash);
        if (_records[tokenId] != 0) revert RegistryDuplicateContent(tokenId);
        Placement memory p = _admit(r, lock, detail, attestation, 0);
        _mint(lock.sender, tokenId);
        _emitRegistered(tokenId, r, lock, p, detail);
    }

    /// @inheritdoc IRegistry
    function reclaim(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes calldata detail,
        bytes calldata attestation,
        RecordProof calldata existing
    ) external nonReentrant returns (uint256 tokenId) {
        tokenId = uint256(r.contentHash);
        _checkActiveProof(tokenId, existing); // a revoked copy's record still backs its dispute
        uint256 epoch = _epochOf(tokenId) + 1;
        if (epoch > type(uint8).max) revert RegistryReclaimLimit(tokenId);
        address holder = _ownerOf(tokenId);
        if (holder == address(_htlc)) revert RegistryTokenEscrowed(tokenId);
        // The registration window counts only the blocks the token was out of the escrow: a
        // taker listing it until the window closed would keep it otherwise.
        Placement memory p = _admit(r, lock, detail, attestation, _escrows[tokenId].blocks);
        if (p.priority >= existing.priorityBlock) revert RegistryChallengeOutOfOrder(tokenId, tokenId);
        if (lock.receiver != existing.esp) _checkCommittedFirst(tokenId, p.committedAt, existing);
        // The exact bytes were registered first by a later payer: the token moves to the earlier
        // one, who becomes its producer; the taker's bond (if still held) is burned.
        _records[tokenId] |= epoch << 8; // disputes opened against the old record are void
        _update(lock.sender, tokenId, address(0));
        delete _producers[tokenId];
        if (bytes(r.metadataURI).length == 0) delete _uris[tokenId]; // not the taker's URI
        emit Reclaimed(tokenId, holder, lock.sender);
        emit MetadataUpdate(tokenId); // new producer, ESP and priority
        _emitRegistered(tokenId, r, lock, p, detail);
        // The same ESP attested one image to two payers: it answers with its stake, paid to the
        // payer who loses the token (its Sybil may be the one with the older lock).
        if (lock.receiver == existing.esp) _espRegistry.recordChallengeUpheld(existing.esp, holder);
        _send(BURN, _bond);
    }

    // ---------------------------------------------------------------- challenges

    /// @inheritdoc IRegistry
    function challenge(uint256 original, uint256 duplicate, RecordProof calldata a, RecordProof calldata b)
        external
        payable
        nonReentrant
    {
        if (msg.value != _challengeDeposit) revert RegistryWrongValue(msg.value, _challengeDeposit);
        if (original == duplicate) revert RegistrySelfChallenge(original);
        _checkActiveProof(original, a);
        _checkActiveProof(duplicate, b);
        if (_ownerOf(original) != msg.sender) revert RegistryNotOwner(original, msg.sender);
        if (a.priorityBlock >= b.priorityBlock) revert RegistryChallengeOutOfOrder(original, duplicate);
        // A lock gives priority only to content committed before the other image's fee was
        // locked (and before it was committed): across ESPs, an older lock of one's own must not
        // carry a copy of a published image, nor of one whose reveal is still pending (its
        // commitment hid it until then), nor of one its ESP leaked before delivery to a Sybil
        // of a second ESP of the same operator (the leak and a backdated copy have the same
        // block pattern with the roles swapped: both end in a stalemate, nobody is revoked).
        // When one ESP attested both, priority cannot decide (the ESP chooses whose lock is
        // older: its Sybil's, prepaid): the dispute is an equivocation, see `resolve`.
        bool equivocal = a.esp == b.esp;
        if (!equivocal) _checkCommittedFirst(original, a.commitBlock, b);
        uint256 d = FingerprintRule.distance(a.fingerprint, b.fingerprint);
        if (d > _matchThreshold) revert RegistryNotAdmissible(original, duplicate, d);
        Dispute storage dispute = _disputes[_pairKey(original, duplicate)];
        DisputeState was = dispute.state;
        // One challenge per pair, unless the last one decided nothing about it: Void, or
        // Reversed (its winner was revoked; `original` is active again, so that was passing).
        if (was != DisputeState.None && was != DisputeState.Void && was != DisputeState.Reversed) {
            revert RegistryDisputeExists(original, duplicate, was);
        }
        if (was != DisputeState.None && dispute.contester != address(0)) dispute.contester = address(0);
        uint64 deadline = uint64(block.number) + _disputeWindow;
        dispute.challenger = msg.sender;
        dispute.deadline = deadline;
        dispute.state = DisputeState.Open;
        dispute.equivocal = equivocal;
        dispute.epochOriginal = _epochOf(original);
        dispute.epochDuplicate = _epochOf(duplicate);
        emit ChallengeOpened(original, duplicate, msg.sender, d, deadline);
    }

    /// @inheritdoc IRegistry
    function contest(uint256 original, uint256 duplicate) external payable nonReentrant {
        if (msg.value != _challengeDeposit) revert RegistryWrongValue(msg.value, _challengeDeposit);
        Dispute storage dispute = _openDispute(original, duplicate);
        if (block.number > dispute.deadline) revert RegistryDisputeWindow(original, duplicate, dispute.deadline);
        // An equivocation revokes nothing, so its challenger may also ask for the detail rule.
        if (_accusedOf(duplicate) != msg.sender && !(dispute.equivocal && msg.sender == dispute.challenger)) {
            revert RegistryNotOwner(duplicate, msg.sender);
        }
        dispute.state = DisputeState.Contested;
        dispute.contester = msg.sender;
        emit ChallengeContested(original, duplicate, msg.sender);
    }

    /// @inheritdoc IRegistry
    function resolve(
        uint256 original,
        uint256 duplicate,
        RecordProof calldata a,
        RecordProof calldata b,
        bytes calldata detailA,
        bytes calldata detailB
    ) external nonReentrant returns (bool upheld) {
        Dispute storage dispute = _disputes[_pairKey(original, duplicate)];
        if (dispute.state != DisputeState.Contested) {
            revert RegistryDisputeState(original, duplicate, dispute.state);
        }
        _checkProof(original, a);
        _checkProof(duplicate, b);
        if (keccak256(detailA) != a.detailHash) revert RegistryBadProof(original);
        if (keccak256(detailB) != b.detailHash) revert RegistryBadProof(duplicate);
        address challenger = dispute.challenger;
        address contester = dispute.contester;
        if (_statusOf(duplicate) != Status.Active || _reclaimedSince(original, duplicate, dispute)) {
            // revoked meanwhile by another challenge, or either token reclaimed by an earlier
            // payer (its priority changed): nothing left to decide, both deposits return
            dispute.state = DisputeState.Void;
            emit ChallengeDecided(original, duplicate, DisputeState.Void, true);
            _send(challenger, _challengeDeposit);
            _send(contester, _challengeDeposit);
            return false;
        }
        bool same = _verifier.matchesFor(original, duplicate, detailA, detailB);
        if (same && dispute.equivocal) {
            _equivocated(original, duplicate, dispute, a.esp);
            return false;
        }
        upheld = same && _statusOf(original) == Status.Active;
        if (upheld) {
            // both deposits stay, held with the bond until `settle`
            _uphold(original, duplicate, dispute, true);
        } else {
            dispute.state = DisputeState.Rejected;
            emit ChallengeDecided(original, duplicate, DisputeState.Rejected, true);
            _send(contester, 2 * _challengeDeposit); // its deposit, and the challenger's as its costs
        }
    }

    /// @inheritdoc IRegistry
    function finalize(uint256 original, uint256 duplicate) external nonReentrant returns (bool upheld) {
        Dispute storage dispute = _openDispute(original, duplicate);
        if (block.number <= dispute.deadline) revert RegistryDisputeWindow(original, duplicate, dispute.deadline);
        address challenger = dispute.challenger;
        if (
            dispute.equivocal || _statusOf(duplicate) != Status.Active
                || _reclaimedSince(original, duplicate, dispute)
        ) {
            // already revoked by another challenge, one ESP attested both (priority cannot
            // decide and the detail rule did not run), or either token was reclaimed by an
            // earlier payer since the challenge (its priority changed): nothing is decided
            dispute.state = DisputeState.Void;
            emit ChallengeDecided(original, duplicate, DisputeState.Void, false);
            _send(challenger, _challengeDeposit);
            return false;
        }
        if (_statusOf(original) != Status.Active) {
            dispute.state = DisputeState.Rejected; // the challenger's own token was revoked as a copy
            emit ChallengeDecided(original, duplicate, DisputeState.Rejected, false);
            _send(_accusedOf(duplicate), _challengeDeposit);
            return false;
        }
        _uphold(original, duplicate, dispute, false); // the deposit is held until `settle`
        return true;
    }

    /// @inheritdoc IRegistry
    function settle(uint256 original, uint256 duplicate, RecordProof calldata b) external nonReentrant {
        Dispute storage dispute = _disputes[_pairKey(original, duplicate)];
        if (dispute.state != DisputeState.Upheld) revert RegistryDisputeState(original, duplicate, dispute.state);
        _checkProof(duplicate, b);
        address contester = dispute.contester;
        uint256 deposits = contester == address(0) ? _challengeDeposit : 2 * _challengeDeposit;
        if (_statusOf(original) == Status.Revoked) {
            // The winner was itself a copy: its win is reversed, the bond backs the token again,
            // and the held deposits go to the accused side as compensation.
            dispute.state = DisputeState.Reversed;
            _records[duplicate] = (_records[duplicate] & ~_STATUS_MASK) | uint256(Status.Active);
            emit Reinstated(duplicate, original);
            emit MetadataUpdate(duplicate);
            _send(contester == address(0) ? _accusedOf(duplicate) : contester, deposits);
            return;
        }
        if (block.number < dispute.deadline) revert RegistryRewardHeld(duplicate, dispute.deadline);
        dispute.state = DisputeState.Settled;
        uint256 burned = _bond - _challengeReward;
        emit RevocationSettled(duplicate, dispute.challenger, _challengeReward, burned);
        _espRegistry.recordChallengeUpheld(b.esp, dispute.challenger); // the copy's ESP answers with its stake
        _send(dispute.challenger, deposits + _challengeReward);
        _send(BURN, burned);
    }

    /// @inheritdoc IRegistry
    /// @dev Who pays: the caller posts the bond that backs the token again (the invariant "Ether
    /// == bond x active tokens + ..." holds); the first bond went to the winner's challenger
    /// (reward) and was burned at `settle`, and the winner's own bond backs its revocation.
    function reinstate(uint256 original, uint256 duplicate) external payable {
        // No re-entrancy guard: no call out, no Ether leaves.
        if (msg.value != _bond) revert RegistryWrongValue(msg.value, _bond);
        Dispute storage dispute = _disputes[_pairKey(original, duplicate)];
        if (dispute.state != DisputeState.Settled) revert RegistryDisputeState(original, duplicate, dispute.state);
        if (_statusOf(original) != Status.Revoked) revert RegistryWinnerActive(original);
        dispute.state = DisputeState.Reversed;
        _records[duplicate] = (_records[duplicate] & ~_STATUS_MASK) | uint256(Status.Active);
        emit Reinstated(duplicate, original);
        emit MetadataUpdate(duplicate);
    }

    /// @inheritdoc IRegistry
    /// @dev Named so that its selector (0xfca50a69) sorts after every other: the dispatcher's
    /// comparisons for the existing functions stay as they were (their gas is unchanged).
    function revokeCopied(uint256 duplicate, uint256 original, address esp, address challenger) external {
        // No re-entrancy guard: only the court (itself guarded) calls, and the status is written
        // before any call out.
        if (msg.sender != _court || _statusOf(duplicate) != Status.Active) revert RegistryUnauthorizedCourt(msg.sender);
        _records[duplicate] = (_records[duplicate] & ~_STATUS_MASK) | uint256(Status.Revoked);
        emit Revoked(duplicate, original);
        emit MetadataUpdate(duplicate);
        if (esp != address(0)) _espRegistry.recordChallengeUpheld(esp, challenger); // zero: nobody answers
        _send(msg.sender, _bond); // the court pays the reward and burns the rest
    }

    /// @inheritdoc IRegistry
    /// @dev Named so that its selector (0xff2b5a4d) sorts after every other, as `revokeCopied`'s.
    /// Who pays: the court forwards the bond its caller posts, which backs the token again (the
    /// first one was paid out and burned at the court's `settle`).
    function undoRevokeCopied(uint256 duplicate, uint256 original) external payable {
        // No re-entrancy guard: no call out, no Ether leaves.
        if (msg.sender != _court || msg.value != _bond || _statusOf(duplicate) != Status.Revoked) {
            revert RegistryUnauthorizedCourt(msg.sender);
        }
        _records[duplicate] = (_records[duplicate] & ~_STATUS_MASK) | uint256(Status.Active);
        emit Reinstated(duplicate, original);
        emit MetadataUpdate(duplicate);
    }

    /// @inheritdoc IRegistry
    /// @dev Its name is the one of the few measured whose selector (0x39a72c5c) moved the fewest
    /// dispatcher comparisons: `contest` and `settle` +22 gas, the rest unchanged (a selector
    /// after `revokeCopied`'s made `reveal` +45).
    /// No re-entrancy guard: the balance is cleared before the call, so a re-entrant call finds
    /// nothing to pay.
    function withdrawOwed() external {
        uint256 amount = _refused[msg.sender];
        delete _refused[msg.sender];
        _pay(msg.sender, amount, gasleft());
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRegistry
    function recordOf(uint256 tokenId) external view returns (Record memory) {
        uint256 packed = _records[tokenId];
        return Record(bytes32(packed & ~_META_MASK), _producerOf(tokenId), Status(packed & _STATUS_MASK));
    }

    /// @inheritdoc IRegistry
    function disputeOf(uint256 original, uint256 duplicate) external view returns (Dispute memory) {
        return _disputes[_pairKey(original, duplicate)];
    }

    /// @inheritdoc IRegistry
    function escrowerOf(uint256 tokenId) external view returns (address) {
        return _escrows[tokenId].seller;
    }

    /// @inheritdoc IRegistry
    function commitBlock(bytes32 commitment) external view returns (uint64) {
        return _commits[commitment];
    }

    /// @inheritdoc IRegistry
    function commitmentFor(bytes32 contentHash, bytes32 fingerprint, bytes32 detailHash, address owner, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(contentHash, fingerprint, detailHash, owner, salt));
    }

    /// @inheritdoc IRegistry
    function recordHashOf(RecordProof calldata p) external pure returns (bytes32) {
        return bytes32(_proofHash(p) & ~_META_MASK);
    }

    /// @inheritdoc IRegistry
    function attestationDigest(
        bytes32 taskId,
        address producer,
        bytes32 contentHash,
        bytes32 fingerprint,
        bytes32 detailHash,
        bytes32 modelId,
        uint256 seed
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(ATTESTATION_TYPEHASH, taskId, producer, contentHash, fingerprint, detailHash, modelId, seed)
            )
        );
    }

    /// @inheritdoc IRegistry
    function fingerprintDistance(bytes32 a, bytes32 b) external pure returns (uint256) {
        return FingerprintRule.distance(a, b);
    }

    /// @inheritdoc IRegistry
    function fingerprintsMatch(bytes32 a, bytes32 b) external view returns (bool) {
        return FingerprintRule.matches(a, b, _matchThreshold);
    }

    /// @inheritdoc IRegistry
    function detailsMatch(bytes calldata a, bytes calldata b) external view returns (bool) {
        return _verifier.matches(a, b);
    }

    /// @inheritdoc IRegistry
    function isDegenerateFingerprint(bytes32 fp) external pure returns (bool) {
        return FingerprintRule.isDegenerate(fp);
    }

    /// @inheritdoc IRegistry
    function parameters() external view returns (Parameters memory) {
        return Parameters(
            _bond,
            _challengeDeposit,
            _challengeReward,
            _matchThreshold,
            _commitTtl,
            _registrationWindow,
            _disputeWindow,
            _rewardHoldBlocks,
            _royaltyBps
        );
    }

    /// @inheritdoc IRegistry
    function detailLength() external view returns (uint256) {
        return _detailLength;
    }

    /// @notice The contract that runs the detail rule.
    function detailVerifier() external view returns (IDetailVerifier) {
        return _verifier;
    }

    /// @notice The ESP registry that vouches for attesting ESPs.
    function espRegistry() external view returns (IEspRegistry) {
        return _espRegistry;
    }

    /// @notice The hash-time-lock contract whose paid generation locks give registrations priority.
    function htlc() external view returns (IHashTimeLock) {
        return _htlc;
    }

    /// @notice ERC-2981: the original producer earns `royaltyBps` of every sale price.
    function royaltyInfo(uint256 tokenId, uint256 salePrice) public view override returns (address, uint256) {
        return (_producerOf(tokenId), (salePrice * _royaltyBps) / 10_000);
    }

    /// @notice The metadata URI given at registration, else `baseURI` + token id (decimal).
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        string memory own = _uris[tokenId];
        if (bytes(own).length != 0) return own;
        return string.concat(_baseTokenURI, Strings.toString(tokenId));
    }

    /// @inheritdoc IRegistry
    function baseURI() external view returns (string memory) {
        return _baseTokenURI;
    }

    /// @inheritdoc IRegistry
    function contractURI() external view returns (string memory) {
        return _contractURI;
    }

    /// @notice ERC-165, including ERC-4906 (metadata updates on revocation and reinstatement).
    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return interfaceId == bytes4(0x49064906) || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Revoked tokens stay where they are, except that the hash-time-lock escrow may release
    /// them (withdraw or refund), so no lock is ever stuck on a revoked token.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        address from = _ownerOf(tokenId);
        address escrow = address(_htlc);
        if (from != address(0)) {
            // (a mint needs no status check: a token is minted once, Active)
            if (_statusOf(tokenId) == Status.Revoked && from != escrow) revert RegistryTokenRevoked(tokenId);
            if (_producers[tokenId] == address(0)) _producers[tokenId] = from; // first move
            // Not moved by its holder (sold in the escrow, on another exchange or handed over)
            // while an earlier payer may still reclaim it from whoever holds it: its lock is
            // older than the record's priority, so it commits within `registrationWindow` blocks
            // of the record's block at the latest and reveals `commitTtl` later. `reclaim` itself
            // moves it with no `auth` (its own `_update`) and is not held.
            uint64 open = uint64(uint48(_records[tokenId] >> 16)) + _registrationWindow + _commitTtl;
            if (auth != address(0) && block.number <= open) revert RegistryTokenReclaimable(tokenId, open);
            if (to == escrow) {
                // listed: the seller answers for it. Not again within `commitTtl + 1` blocks of
                // its release (`since`, below): a listing ends (the HTLC bounds its timelock),
                // and an earlier payer must get a commit and a `reclaim` in before a relist.
                Escrow storage e = _escrows[tokenId];
                uint64 until = e.since + _commitTtl + 1;
                if (e.seller != address(0) && block.number <= until) revert RegistryRelistTooSoon(tokenId, until);
                (e.seller, e.since) = (from, uint64(block.number));
            } else if (from == escrow) {
                // released: its time in the escrow (where `reclaim` refuses it) extends the
                // registration window of a reclaim; `since` is now the release
                Escrow storage e = _escrows[tokenId];
                (e.blocks, e.since) = (e.blocks + uint32(block.number - e.since), uint64(block.number));
            }
        }
        return super._update(to, tokenId, auth);
    }

    /// @dev Every check of a registration but the duplicate one; consumes the commitment (its
    /// bond now backs the token) and writes the record and the metadata URI.
    function _admit(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes calldata detail,
        bytes calldata attestation,
        uint256 grace
    ) private returns (Placement memory p) {
        if (r.contentHash == bytes32(0)) revert RegistryInvalidRegistration();
        if (detail.length != _detailLength) revert RegistryInvalidDetail(detail.length);
        bytes32 detailHash = keccak256(detail);
        // The registrant is the lock's sender and the attesting ESP its receiver, by construction.
        p.committedAt =
            _takeCommit(keccak256(abi.encode(r.contentHash, r.fingerprint, detailHash, lock.sender, r.salt)));
        if (FingerprintRule.isDegenerate(r.fingerprint)) revert RegistryDegenerateFingerprint(r.fingerprint);
        (p.taskId, p.priority) = _checkLock(lock, p.committedAt, grace);
        _checkAttestation(r, lock, p.taskId, detailHash, attestation);
        uint256 tokenId = uint256(r.contentHash);
        _records[tokenId] = _pack(
            _recordHash(r.fingerprint, detailHash, lock.receiver, p.priority, p.committedAt, uint64(block.number)),
            Status.Active
        );
        if (bytes(r.metadataURI).length != 0) {
            // Bound by neither the commitment nor the attestation, so only the registrant (the
            // lock's sender) chooses it: a relayed reveal passes none and the token falls back to
            // the base URI. A bare revert: a custom error would pass EIP-170's size limit.
            require(msg.sender == lock.sender);
            _uris[tokenId] = r.metadataURI;
        }
    }

    /// @dev Checks the commitment can be revealed now and consumes it (its bond now backs the
    /// token); returns its block.
    function _takeCommit(bytes32 c) private returns (uint64 at) {
        at = _commits[c];
        if (at == 0) revert RegistryUnknownCommit(c);
        if (block.number <= at) revert RegistryRevealTooEarly(c, at);
        if (block.number > at + _commitTtl) revert RegistryCommitExpired(c, at + _commitTtl);
        delete _commits[c];
    }

    /// @dev The lock must be a paid fee (its sender registers, its receiver attests), made while
    /// the ESP was active. Returns the lock id (the attested task) and the registration's
    /// priority: the lock's block if the commitment came within `registrationWindow` blocks of
    /// it, else the commitment's own block (a late delivery still registers, but an old lock
    /// gives no old priority; the ESP must then be active at the commit too).
    function _checkLock(IHashTimeLock.Lock calldata lock, uint64 committedAt, uint256 grace)
        private
        view
        returns (bytes32 id, uint64 priority)
    {
        id = keccak256(abi.encode(lock));
        if (lock.asset == IHashTimeLock.Asset.ERC721) revert RegistryLockMismatch(id, lock.sender, lock.receiver);
        IHashTimeLock.Status status;
        (status, priority) = _htlc.lockInfo(id);
        if (status != IHashTimeLock.Status.Withdrawn) revert RegistryLockNotPaid(id, status);
        if (!_espRegistry.wasActiveAt(lock.receiver, priority)) revert RegistryEspNotRegistered(lock.receiver);
        if (committedAt > priority + _registrationWindow + grace) {
            // Late: the ESP must also be active at the commit, so its stake stays at risk for the
            // image's dispute windows (`exitDelay` covers a commit within the window only).
            priority = committedAt;
            if (!_espRegistry.wasActiveAt(lock.receiver, priority)) revert RegistryEspNotRegistered(lock.receiver);
        }
    }

    /// @dev The lock's id and block, and the commit's block (a struct keeps the stack shallow).
    struct Placement {
        bytes32 taskId;
        uint64 priority;
        uint64 committedAt;
    }

    function _emitRegistered(
        uint256 tokenId,
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        Placement memory p,
        bytes calldata detail
    ) private {
        emit Registered(
            tokenId,
            lock.sender,
            lock.receiver,
            r.fingerprint,
            p.taskId,
            p.priority,
            p.committedAt,
            r.modelId,
            r.seed,
            r.metadataURI,
            detail
        );
    }

    function _checkAttestation(
        Registration calldata r,
        IHashTimeLock.Lock calldata lock,
        bytes32 taskId,
        bytes32 detailHash,
        bytes calldata signature
    ) private view {
        bytes32 digest =
            attestationDigest(taskId, lock.sender, r.contentHash, r.fingerprint, detailHash, r.modelId, r.seed);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != lock.receiver) {
            revert RegistryInvalidAttestation(lock.receiver, recovered);
        }
    }

    /// @dev Revokes `duplicate`; its bond stays in the contract, held for `rewardHoldBlocks`.
    function _uphold(uint256 original, uint256 duplicate, Dispute storage dispute, bool contested) private {
        dispute.state = DisputeState.Upheld;
        dispute.deadline = uint64(block.number) + _rewardHoldBlocks;
        _records[duplicate] = (_records[duplicate] & ~_STATUS_MASK) | uint256(Status.Revoked);
        emit ChallengeDecided(original, duplicate, DisputeState.Upheld, contested);
        emit Revoked(duplicate, original);
        emit MetadataUpdate(duplicate);
    }

    /// @dev One ESP attested the same image to two payers: neither token is revoked, each
    /// deposit goes back, and the ESP's slash is burned. Paid to either owner, it would be a
    /// bounty anyone could farm from an honest ESP: two Sybils pay it for the same seed and
    /// near-synonym prompts (same-seed images share a layout), one challenges the other.
    function _equivocated(uint256 original, uint256 duplicate, Dispute storage dispute, address esp) private {
        dispute.state = DisputeState.Equivocated;
        emit ChallengeDecided(original, duplicate, DisputeState.Equivocated, true);
        _espRegistry.recordEquivocation(esp, BURN, BURN);
        _send(dispute.challenger, _challengeDeposit);
        _send(dispute.contester, _challengeDeposit);
    }

    /// @dev Across ESPs: the original's commit block must be strictly before both the
    /// duplicate's priority (its fee lock) and its commit block.
    function _checkCommittedFirst(uint256 original, uint64 committedAt, RecordProof calldata b) private pure {
        uint64 bar = b.priorityBlock < b.commitBlock ? b.priorityBlock : b.commitBlock;
        if (committedAt >= bar) revert RegistryCommittedAfterPublication(original, committedAt, bar);
    }

    function _openDispute(uint256 original, uint256 duplicate) private view returns (Dispute storage dispute) {
        dispute = _disputes[_pairKey(original, duplicate)];
        if (dispute.state != DisputeState.Open) revert RegistryDisputeState(original, duplicate, dispute.state);
    }

    function _checkActiveProof(uint256 tokenId, RecordProof calldata p) private view {
        Status s = _checkProof(tokenId, p);
        if (s == Status.Revoked) revert RegistryTokenRevoked(tokenId);
    }

    function _checkProof(uint256 tokenId, RecordProof calldata p) private view returns (Status s) {
        uint256 packed = _records[tokenId];
        if (packed == 0) revert RegistryUnknownToken(tokenId);
        if ((packed & ~_META_MASK) != (_proofHash(p) & ~_META_MASK)) {
            revert RegistryBadProof(tokenId);
        }
        s = Status(packed & _STATUS_MASK);
    }

    /// @dev Who answers for `tokenId`: its owner, or whoever put it in the escrow while the
    /// escrow holds it (the seller: for a resold token, not its first producer).
    function _accusedOf(uint256 tokenId) private view returns (address owner) {
        owner = _ownerOf(tokenId);
        if (owner == address(_htlc)) owner = _escrows[tokenId].seller;
    }

    function _epochOf(uint256 tokenId) private view returns (uint8) {
        return uint8(_records[tokenId] >> 8);
    }

    function _reclaimedSince(uint256 original, uint256 duplicate, Dispute storage dispute)
        private
        view
        returns (bool)
    {
        return _epochOf(original) != dispute.epochOriginal || _epochOf(duplicate) != dispute.epochDuplicate;
    }

    function _statusOf(uint256 tokenId) private view returns (Status) {
        return Status(_records[tokenId] & _STATUS_MASK);
    }

    /// @dev The original producer: saved on the token's first move, the owner until then.
    function _producerOf(uint256 tokenId) private view returns (address) {
        address saved = _producers[tokenId];
        return saved != address(0) ? saved : _ownerOf(tokenId);
    }

    /// @dev Pays `amount` to `to`; a refused payment is kept for `to`'s `withdrawOwed`, so no
    /// receiver can block the call that pays it, by refusing it or by a return-data bomb.
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

    function _recordHash(
        bytes32 fingerprint,
        bytes32 detailHash,
        address esp,
        uint64 priority,
        uint64 committedAt,
        uint64 revealedAt
    ) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(fingerprint, detailHash, esp, priority, committedAt, revealedAt)));
    }

    function _proofHash(RecordProof calldata p) private pure returns (uint256) {
        return _recordHash(p.fingerprint, p.detailHash, p.esp, p.priorityBlock, p.commitBlock, p.revealBlock);
    }

    /// @dev The record word: the hash, the block it is written at (bits 16-63) and the status.
    function _pack(uint256 hash, Status status) private view returns (uint256) {
        return (hash & ~_META_MASK) | (uint256(uint48(block.number)) << 16) | uint256(status);
    }

    function _pairKey(uint256 original, uint256 duplicate) private pure returns (bytes32) {
        return keccak256(abi.encode(original, duplicate));
    }
}
