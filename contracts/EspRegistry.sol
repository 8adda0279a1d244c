// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {IHashTimeLock} from "./interfaces/IHashTimeLock.sol";
import {IRegistry} from "./interfaces/IRegistry.sol";
import {IBatchRegistry} from "./interfaces/IBatchRegistry.sol";
import {ICommitteeVerifier} from "./interfaces/ICommitteeVerifier.sol";
import {EvidenceLib} from "./EvidenceLib.sol";

/// @title EspRegistry
/// @notice ESPs register with a stake and answer with it. Protocol of one generation:
/// the ESP quotes (signs an EIP-712 `Quote` over the lock's terms) -> the producer locks the fee
/// and brings the signature to `acknowledge` (the open lock now holds the ESP's stake) -> the lock
/// settles in the HashTimeLock -> the producer's feedback (withdrawn) or anyone's refund record
/// (refunded) becomes evidence and releases the lock. The Proof-of-AIGC registries (the single
/// Registry and the BatchRegistry, each bound once) report upheld challenges, which slash
/// `slashAmount` of the attesting ESP's stake to the injured party.
/// `ReputationView` computes reputation from the evidence.
///
/// Invariants: Ether held == sum of stakes + compensation owed; each lock id is acknowledged at
/// most once and yields at most one evidence record; evidence exists only for Ether locks the
/// ESP acknowledged, from senders that are neither the ESP nor any registered ESP; `openLocks(esp)`
/// == acknowledged locks to `esp` created open and not yet released, and a stake cannot be
/// withdrawn while it is non-zero.
contract EspRegistry is IEspRegistry, EIP712, ReentrancyGuardTransient {
    using EvidenceLib for EvidenceLib.Evidence;

    /// @notice The EIP-712 type the ESP signs to accept a generation lock (every field of the lock).
    bytes32 public constant QUOTE_TYPEHASH = keccak256(
        "Quote(address sender,address receiver,uint8 asset,address token,uint256 amount,bytes32 hashlock,uint64 timelock)"
    );

    /// @dev Where burned slashes are owed: nobody holds its key (the Registry's `BURN`).
    address private constant _BURN = 0x000000000000000000000000000000000000dEaD;
    IHashTimeLock private immutable _htlc;
    uint256 private immutable _minStake;
    uint64 private immutable _unbondingPeriod;
    uint256 private immutable _slashAmount;
    address private immutable _deployer;
    address private _registry;
    /// @dev Blocks after an ESP's period ends before its stake may leave (set at `bindRegistry`
    /// from the longer of the two registries' windows): the images it attested can still be registered, challenged,
    /// decided and settled, so a slash finds the stake there.
    uint64 private _exitDelay;
    /// @dev The second reporter: the BatchRegistry (issue 16), whose revocations slash as the
    /// Registry's do (after `_exitDelay`: the Registry's slot keeps its layout).
    address private _batchRegistry;

    mapping(address esp => Esp) private _esps;
    address[] private _espList;
    mapping(address esp => mapping(address producer => EvidenceLib.Evidence)) private _evidence;
    mapping(address esp => address[]) private _producers;
    mapping(bytes32 lockId => LockMark) private _marks;
    mapping(address esp => uint256) private _openLocks;
    mapping(address account => uint256) private _owed;
    /// @dev The blocks of the ESP's latest registration and deregistration (0 while active).
    mapping(address esp => ActivePeriod) private _periods;
    /// @dev Its earlier periods, oldest first: a lock paid in any of them still registers.
    mapping(address esp => ActivePeriod[]) private _pastPeriods;
    /// @dev A slash deactivated the ESP (stake under half the minimum, not zero) and it has not
    /// withdrawn since: `addStake` may bring it back. Never set for an ESP that left itself.
    mapping(address esp => bool) private _slashedOut;

    /// @dev One slot per lock: acknowledged by its receiver, still holding its stake, evidence made.
    struct LockMark {
        bool acknowledged;
        bool holding;
        bool recorded;
    }

    constructor(IHashTimeLock htlc_, uint256 minStake_, uint64 unbondingPeriod_, uint256 slashAmount_)
        EIP712("EspRegistry", "1")
    {
        _htlc = htlc_;
        _minStake = minStake_;
        _unbondingPeriod = unbondingPeriod_;
        _slashAmount = slashAmount_;
        _deployer = msg.sender;
    }

    /// @notice Binds the Proof-of-AIGC registries allowed to report upheld challenges: the single
    /// Registry and the BatchRegistry (issue 16), both at once, once, by the deployer.
    function bindRegistry(address registry_, address batchRegistry_) external {
        if (msg.sender != _deployer) revert EspUnauthorizedRegistry(msg.sender);
        if (_registry != address(0)) revert EspRegistryAlreadyBound(_registry);
        _registry = registry_;
        _batchRegistry = batchRegistry_;
        uint64 delay;
        // A contested single's `resolve` waits for the committee's review, which the accused
        // requests as it contests: the draw two blocks on, its commit and reveal phases, then
        // the block after (red team 7: without it the ESP left before its copy's slash when a
        // review outlasted a dispute window). Zero with a plain detail rule (no `parameters`).
        uint64 review;
        (bool ok, bytes memory data) = registry_.staticcall(abi.encodeWithSignature("detailVerifier()"));
        if (ok && data.length == 32) {
            (ok, data) = abi.decode(data, (address)).staticcall(abi.encodeCall(ICommitteeVerifier.parameters, ()));
            if (ok && data.length == 5 * 32) {
                ICommitteeVerifier.Params memory c = abi.decode(data, (ICommitteeVerifier.Params));
                review = c.commitBlocks + c.revealBlocks + 3;
            }
        }
        (ok, data) = registry_.staticcall(abi.encodeCall(IRegistry.parameters, ()));
        if (ok && data.length == 9 * 32) {
            IRegistry.Parameters memory p = abi.decode(data, (IRegistry.Parameters));
            // A lock paid in the ESP's last active block may be committed `registrationWindow`
            // blocks later and revealed `commitTtl` after that; a watcher then has one dispute
            // window to challenge, the accused another to contest (and the review above), and
            // the revocation settles `rewardHoldBlocks` after its decision.
            delay = p.registrationWindow + p.commitTtl + 2 * p.disputeWindow + review + p.rewardHoldBlocks;
        }
        (ok, data) = batchRegistry_.staticcall(abi.encodeCall(IBatchRegistry.parameters, ()));
        if (ok && data.length == 10 * 32) {
            IBatchRegistry.Parameters memory p = abi.decode(data, (IBatchRegistry.Parameters));
            // The same path for a batched copy, with one more dispute window (a contested batch
            // challenge has a window to resolve), then the reward hold before `settle` slashes.
            uint64 batchDelay = p.registrationWindow + p.commitTtl + 3 * p.disputeWindow + p.rewardHoldBlocks;
            if (batchDelay > delay) delay = batchDelay;
        }
        _exitDelay = delay;
    }

    /// @inheritdoc IEspRegistry
    function register(string calldata endpoint, uint256 price) external payable {
        Esp storage e = _esps[msg.sender];
        if (e.active || e.stake != 0) revert EspAlreadyRegistered(msg.sender);
        if (msg.value < _minStake) revert EspStakeTooLow(msg.value, _minStake);
        _checkEndpoint(endpoint);
        if (bytes(e.endpoint).length == 0) _espList.push(msg.sender); // first registration
        e.stake = uint128(msg.value);
        e.active = true;
        e.unbondingEndsAt = 0;
        e.price = price;
        e.endpoint = endpoint;
        ActivePeriod storage period = _periods[msg.sender];
        if (period.sinceBlock != 0) _pastPeriods[msg.sender].push(period); // a rejoin keeps the past
        _periods[msg.sender] = ActivePeriod(uint64(block.number), 0);
        emit EspRegistered(msg.sender, endpoint, price, msg.value);
    }

    /// @inheritdoc IEspRegistry
    function update(string calldata endpoint, uint256 price) external {
        Esp storage e = _activeEsp(msg.sender);
        _checkEndpoint(endpoint);
        e.endpoint = endpoint;
        e.price = price;
        emit EspUpdated(msg.sender, endpoint, price);
    }

    /// @inheritdoc IEspRegistry
    function deregister() external {
        _deactivate(msg.sender, _activeEsp(msg.sender));
    }

    /// @inheritdoc IEspRegistry
    function addStake() external payable {
        Esp storage e = _esps[msg.sender];
        uint256 stake = e.stake + msg.value;
        if (!e.active) {
            // Only a slash's deactivation is undone here; a deregistered ESP's unbonding and
            // exit delay run their course (it withdraws, then registers again).
            if (!_slashedOut[msg.sender]) revert EspNotRegistered(msg.sender);
            if (stake < _minStake) revert EspStakeTooLow(stake, _minStake);
            delete _slashedOut[msg.sender];
            e.active = true;
            e.unbondingEndsAt = 0;
            // A new period from this block: the gap was inactive (no lock paid then registers),
            // and the old period's exit delay keeps counting from its end.
            _pastPeriods[msg.sender].push(_periods[msg.sender]);
            _periods[msg.sender] = ActivePeriod(uint64(block.number), 0);
            emit EspRegistered(msg.sender, e.endpoint, e.price, stake);
        } else if (msg.value == 0) {
            revert EspStakeTooLow(0, 1);
        }
        e.stake = uint128(stake);
        emit EspStakeAdded(msg.sender, msg.value, stake);
    }

    /// @inheritdoc IEspRegistry
    function withdrawStake() external nonReentrant {
        Esp storage e = _esps[msg.sender];
        if (e.active || e.stake == 0 || block.timestamp < e.unbondingEndsAt) {
            revert EspStakeLocked(msg.sender, e.unbondingEndsAt);
        }
        uint256 open = _openLocks[msg.sender];
        if (open != 0) revert EspLocksOpen(msg.sender, open);
        uint64 heldUntil = _periods[msg.sender].untilBlock + _exitDelay;
        if (block.number <= heldUntil) revert EspStakeHeld(msg.sender, heldUntil);
        uint256 amount = e.stake;
        e.stake = 0;
        if (_slashedOut[msg.sender]) delete _slashedOut[msg.sender]; // it registers again now
        emit EspStakeWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EspTransferFailed(msg.sender, amount);
    }

    /// @inheritdoc IEspRegistry
    function acknowledge(IHashTimeLock.Lock calldata lock, bytes calldata signature) external {
        bytes32 id = keccak256(abi.encode(lock));
        (IHashTimeLock.Status status, uint64 lockedAt) = _htlc.lockInfo(id);
        if (status == IHashTimeLock.Status.None) revert QuoteUnknownLock(id);
        if (!_wasActiveAt(lock.receiver, lockedAt)) revert EspNotRegistered(lock.receiver);
        LockMark storage m = _marks[id];
        if (m.acknowledged) revert QuoteAlreadyAcknowledged(id);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(quoteDigest(lock), signature);
        if (err != ECDSA.RecoverError.NoError || signer != lock.receiver) revert QuoteInvalidSignature(id, signer);
        m.acknowledged = true;
        if (status == IHashTimeLock.Status.Open) {
            m.holding = true;
            ++_openLocks[lock.receiver];
        }
        emit LockAcknowledged(id, lock.receiver, lock.sender);
    }

    /// @inheritdoc IEspRegistry
    function release(IHashTimeLock.Lock calldata lock) external {
        _releaseOne(lock);
    }

    /// @inheritdoc IEspRegistry
    function releaseBatch(IHashTimeLock.Lock[] calldata locks) external {
        uint256 n = locks.length;
        if (n == 0) revert EspBatchMismatch(0, 0);
        for (uint256 i; i < n; ++i) {
            _releaseOne(locks[i]);
        }
    }

    /// @inheritdoc IEspRegistry
    function submitFeedback(IHashTimeLock.Lock calldata lock, bool positive) external {
        _feedbackOne(lock, positive);
    }

    /// @inheritdoc IEspRegistry
    function submitFeedbackBatch(IHashTimeLock.Lock[] calldata locks, bool[] calldata positive) external {
        uint256 n = locks.length;
        if (n == 0 || n != positive.length) revert EspBatchMismatch(n, positive.length);
        for (uint256 i; i < n; ++i) {
            _feedbackOne(locks[i], positive[i]);
        }
    }

    /// @inheritdoc IEspRegistry
    function recordRefund(IHashTimeLock.Lock calldata lock) external {
        bytes32 id = keccak256(abi.encode(lock));
        _record(lock, _claimLock(lock, id, IHashTimeLock.Status.Refunded), false);
    }

    /// @inheritdoc IEspRegistry
    /// @dev The slash is burned, whoever `injured` is: paid to the challenger, it was a bounty
    /// anyone could farm from honest ESPs with its own false matches (two registrations of
    /// unrelated images through two ESPs that the rule happens to match, found off chain among a
    /// few generations, one challenging the other: +0.038 ETH per farm at the default figures;
    /// `tests/contracts/test_attacks_slash_farm.py`). `injured` is kept for the ABI.
    function recordChallengeUpheld(address esp, address injured) external {
        injured; // unused: see above
        _slash(esp, _BURN, _BURN);
    }

    /// @inheritdoc IEspRegistry
    function recordEquivocation(address esp, address ownerA, address ownerB) external {
        _slash(esp, ownerA, ownerB);
    }

    /// @inheritdoc IEspRegistry
    function claimCompensation() external nonReentrant {
        uint256 amount = _owed[msg.sender];
        if (amount == 0) revert NoCompensation(msg.sender);
        _owed[msg.sender] = 0;
        emit CompensationClaimed(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EspTransferFailed(msg.sender, amount);
    }

    /// @inheritdoc IEspRegistry
    function isActive(address esp) external view returns (bool) {
        return _esps[esp].active;
    }

    /// @inheritdoc IEspRegistry
    function wasActiveAt(address esp, uint64 blockNumber) external view returns (bool) {
        return _wasActiveAt(esp, blockNumber);
    }

    /// @inheritdoc IEspRegistry
    function espInfo(address esp) external view returns (Esp memory) {
        return _esps[esp];
    }

    /// @inheritdoc IEspRegistry
    function challengesLost(address esp) external view returns (uint32) {
        return _esps[esp].challengesLost;
    }

    /// @inheritdoc IEspRegistry
    function evidence(address producer, address esp) external view returns (EvidenceLib.Evidence memory) {
        return _evidence[esp][producer];
    }

    /// @inheritdoc IEspRegistry
    function producersOf(address esp) external view returns (address[] memory) {
        return _producers[esp];
    }

    /// @inheritdoc IEspRegistry
    function feedbackRecorded(bytes32 lockId) external view returns (bool) {
        return _marks[lockId].recorded;
    }

    /// @inheritdoc IEspRegistry
    function esps() external view returns (address[] memory) {
        return _espList;
    }

    /// @inheritdoc IEspRegistry
    function openLocks(address esp) external view returns (uint256) {
        return _openLocks[esp];
    }

    /// @inheritdoc IEspRegistry
    function acknowledged(bytes32 lockId) external view returns (bool) {
        return _marks[lockId].acknowledged;
    }

    /// @inheritdoc IEspRegistry
    function compensationOf(address account) external view returns (uint256) {
        return _owed[account];
    }

    /// @inheritdoc IEspRegistry
    function quoteDigest(IHashTimeLock.Lock calldata lock) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(QUOTE_TYPEHASH, lock)));
    }

    /// @notice The hash-time-lock contract whose settled locks back feedback.
    function htlc() external view returns (IHashTimeLock) {
        return _htlc;
    }

    /// @notice The minimum stake, in wei.
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @notice How long a deregistered ESP's stake stays locked, in seconds.
    function unbondingPeriod() external view returns (uint64) {
        return _unbondingPeriod;
    }

    /// @notice The stake slashed per upheld challenge (capped at the stake), in wei.
    function slashAmount() external view returns (uint256) {
        return _slashAmount;
    }

    /// @notice Blocks after an ESP stops serving before its stake may leave (the dispute window
    /// of the images it attested).
    function exitDelay() external view returns (uint64) {
        return _exitDelay;
    }

    /// @notice The Proof-of-AIGC registry allowed to report challenges.
    function registry() external view returns (address) {
        return _registry;
    }

    /// @dev Checks `lock` settled as `expected`, paid Ether to an ESP (ever registered: an ESP
    /// cannot escape its refunds by leaving), has not been used, is no self-dealing and was
    /// acknowledged by the ESP; marks it used and releases the ESP's stake from it.
    function _claimLock(IHashTimeLock.Lock calldata lock, bytes32 id, IHashTimeLock.Status expected)
        private
        returns (bytes32)
    {
        _checkStatus(id, expected);
        if (lock.asset == IHashTimeLock.Asset.ERC721) revert FeedbackNotPayment(id);
        if (lock.asset != IHashTimeLock.Asset.Ether) revert FeedbackAssetNotWeighed(id, lock.token);
        if (bytes(_esps[lock.receiver].endpoint).length == 0) revert EspNotRegistered(lock.receiver);
        LockMark storage m = _marks[id];
        if (m.recorded) revert FeedbackAlreadyRecorded(id);
        if (lock.sender == lock.receiver || bytes(_esps[lock.sender].endpoint).length != 0) {
            revert FeedbackSelfDealing(id, lock.sender);
        }
        if (!m.acknowledged) revert FeedbackNotAcknowledged(id);
        m.recorded = true;
        if (m.holding) _release(m, id, lock.receiver);
        return id;
    }

    function _releaseOne(IHashTimeLock.Lock calldata lock) private {
        bytes32 id = keccak256(abi.encode(lock));
        LockMark storage m = _marks[id];
        if (!m.holding || _htlc.statusOfId(id) == IHashTimeLock.Status.Open) revert LockNotReleasable(id);
        _release(m, id, lock.receiver);
    }

    function _feedbackOne(IHashTimeLock.Lock calldata lock, bool positive) private {
        bytes32 id = keccak256(abi.encode(lock));
        if (msg.sender != lock.sender) {
            _checkStatus(id, IHashTimeLock.Status.Withdrawn);
            revert FeedbackNotLockSender(id, msg.sender);
        }
        _record(lock, _claimLock(lock, id, IHashTimeLock.Status.Withdrawn), positive);
    }

    function _checkStatus(bytes32 id, IHashTimeLock.Status expected) private view {
        IHashTimeLock.Status status = _htlc.statusOfId(id);
        if (status != expected) revert FeedbackLockNotSettled(id, status);
    }

    function _release(LockMark storage m, bytes32 id, address esp) private {
        m.holding = false;
        // holding was true, so this lock incremented the counter and it is >= 1.
        unchecked {
            --_openLocks[esp];
        }
        emit LockReleased(id, esp);
    }

    function _record(IHashTimeLock.Lock calldata lock, bytes32 id, bool positive) private {
        EvidenceLib.Evidence storage ev = _evidence[lock.receiver][lock.sender];
        if (ev.updatedAt == 0) _producers[lock.receiver].push(lock.sender);
        ev.record(positive, lock.amount, uint64(block.timestamp));
        emit FeedbackRecorded(lock.sender, lock.receiver, id, positive, lock.amount);
    }

    /// @dev Counts a lost challenge against `esp` and slashes min(`slashAmount`, stake): half to
    /// `a` and half to `b` (all of it when they are the same account). An ESP left with less
    /// than half the minimum stake is deactivated.
    function _slash(address esp, address a, address b) private {
        if (msg.sender != _registry) {
            if (msg.sender != _batchRegistry) revert EspUnauthorizedRegistry(msg.sender);
        }
        Esp storage e = _esps[esp];
        uint32 lost = ++e.challengesLost;
        emit ChallengeRecorded(esp, lost);
        uint256 stake = e.stake;
        uint256 cut = stake < _slashAmount ? stake : _slashAmount;
        if (cut != 0) {
            // cut <= stake: no underflow; the owed total is bounded by the Ether held.
            unchecked {
                stake -= cut;
            }
            e.stake = uint128(stake);
            uint256 toA = a == b ? cut : cut / 2;
            _owed[a] += toA;
            emit EspSlashed(esp, a, toA, stake);
            if (a != b) {
                _owed[b] += cut - toA;
                emit EspSlashed(esp, b, cut - toA, stake);
            }
        }
        // A slashed ESP stops serving under half the minimum stake: at the minimum, one lost
        // challenge (a squatter's uncontested false match) leaves it serving, the second ends it.
        if (e.active && stake < _minStake / 2) {
            _deactivate(esp, e);
            if (stake != 0) _slashedOut[esp] = true; // `addStake` may restore it (at zero: `register`)
        }
    }

    function _deactivate(address esp, Esp storage e) private {
        e.active = false;
        e.unbondingEndsAt = uint64(block.timestamp) + _unbondingPeriod;
        _periods[esp].untilBlock = uint64(block.number);
        emit EspDeregistered(esp, e.unbondingEndsAt);
    }

    /// @dev The latest period answers for any block since it began (one storage read, as a reveal
    /// of a recent lock needs); an older block is searched among the earlier periods, which are
    /// sorted, by bisection. A period includes its deregistration block (`untilBlock`): a fee
    /// locked in that block before the ESP left was paid to an active ESP, which can still
    /// claim it. Periods overlap at most in one block (a rejoin in the block that slashed the
    /// stake to zero), active either way.
    function _wasActiveAt(address esp, uint64 blockNumber) private view returns (bool) {
        ActivePeriod memory p = _periods[esp];
        if (p.sinceBlock != 0 && p.sinceBlock <= blockNumber) {
            return p.untilBlock == 0 || blockNumber <= p.untilBlock;
        }
        ActivePeriod[] storage past = _pastPeriods[esp];
        uint256 lo;
        uint256 hi = past.length;
        while (lo < hi) {
            // lo < hi <= past.length: neither the sum nor lo + 1 can overflow.
            unchecked {
                uint256 mid = (lo + hi) / 2;
                if (past[mid].sinceBlock <= blockNumber) lo = mid + 1;
                else hi = mid;
            }
        }
        return lo != 0 && blockNumber <= past[lo - 1].untilBlock;
    }

    /// @inheritdoc IEspRegistry
    function periodsOf(address esp) external view returns (ActivePeriod[] memory periods) {
        ActivePeriod[] storage past = _pastPeriods[esp];
        uint256 n = past.length;
        ActivePeriod memory latest = _periods[esp];
        periods = new ActivePeriod[](latest.sinceBlock == 0 ? n : n + 1);
        for (uint256 i; i < n; ++i) {
            periods[i] = past[i];
        }
        if (latest.sinceBlock != 0) periods[n] = latest;
    }

    function _activeEsp(address esp) private view returns (Esp storage e) {
        e = _esps[esp];
        if (!e.active) revert EspNotRegistered(esp);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 n = bytes(endpoint).length;
        if (n == 0 || n > 256) revert EspInvalidEndpoint(n);
    }
}
