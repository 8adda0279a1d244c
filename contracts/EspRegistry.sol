// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IEspRegistry} from "./interfaces/IEspRegistry.sol";
import {IHashTimeLock} from "./interfaces/IHashTimeLock.sol";
import {EvidenceLib} from "./EvidenceLib.sol";

/// @title EspRegistry
/// @notice ESPs register with a stake, producers give feedback backed by settled hash-time locks,
/// and the Proof-of-AIGC registry reports upheld challenges. The evidence per (producer, ESP) is
/// what multi-weight subjective logic needs; `ReputationView` computes reputation from it.
///
/// Invariants: Ether held == sum of stakes; each lock id yields at most one evidence record;
/// evidence about an ESP exists only from addresses whose locks paid (or failed to pay) that ESP.
contract EspRegistry is IEspRegistry, ReentrancyGuardTransient {
    using EvidenceLib for EvidenceLib.Evidence;

    IHashTimeLock private immutable _htlc;
    uint256 private immutable _minStake;
    uint64 private immutable _unbondingPeriod;
    address private immutable _deployer;
    address private _registry;

    mapping(address esp => Esp) private _esps;
    address[] private _espList;
    mapping(address esp => mapping(address producer => EvidenceLib.Evidence)) private _evidence;
    mapping(address esp => address[]) private _producers;
    mapping(bytes32 lockId => bool) private _recorded;
    /// @dev The blocks of the ESP's latest registration and deregistration (0 while active).
    mapping(address esp => ActivePeriod) private _periods;

    struct ActivePeriod {
        uint64 sinceBlock;
        uint64 untilBlock;
    }

    constructor(IHashTimeLock htlc_, uint256 minStake_, uint64 unbondingPeriod_) {
        _htlc = htlc_;
        _minStake = minStake_;
        _unbondingPeriod = unbondingPeriod_;
        _deployer = msg.sender;
    }

    /// @notice Binds the Proof-of-AIGC registry allowed to report upheld challenges (once, by the deployer).
    function bindRegistry(address registry_) external {
        if (msg.sender != _deployer) revert EspUnauthorizedRegistry(msg.sender);
        if (_registry != address(0)) revert EspRegistryAlreadyBound(_registry);
        _registry = registry_;
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
        Esp storage e = _activeEsp(msg.sender);
        e.active = false;
        e.unbondingEndsAt = uint64(block.timestamp) + _unbondingPeriod;
        _periods[msg.sender].untilBlock = uint64(block.number);
        emit EspDeregistered(msg.sender, e.unbondingEndsAt);
    }

    /// @inheritdoc IEspRegistry
    function withdrawStake() external nonReentrant {
        Esp storage e = _esps[msg.sender];
        if (e.active || e.stake == 0 || block.timestamp < e.unbondingEndsAt) {
            revert EspStakeLocked(msg.sender, e.unbondingEndsAt);
        }
        uint256 amount = e.stake;
        e.stake = 0;
        emit EspStakeWithdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert EspTransferFailed(msg.sender, amount);
    }

    /// @inheritdoc IEspRegistry
    function submitFeedback(IHashTimeLock.Lock calldata lock, bool positive) external {
        bytes32 id = _claimLock(lock, IHashTimeLock.Status.Withdrawn);
        if (msg.sender != lock.sender) revert FeedbackNotLockSender(id, msg.sender);
        _record(lock, id, positive);
    }

    /// @inheritdoc IEspRegistry
    function recordRefund(IHashTimeLock.Lock calldata lock) external {
        _record(lock, _claimLock(lock, IHashTimeLock.Status.Refunded), false);
    }

    /// @inheritdoc IEspRegistry
    function recordChallengeUpheld(address esp) external {
        if (msg.sender != _registry) revert EspUnauthorizedRegistry(msg.sender);
        uint32 lost = ++_esps[esp].challengesLost;
        emit ChallengeRecorded(esp, lost);
    }

    /// @inheritdoc IEspRegistry
    function isActive(address esp) external view returns (bool) {
        return _esps[esp].active;
    }

    /// @inheritdoc IEspRegistry
    function wasActiveAt(address esp, uint64 blockNumber) external view returns (bool) {
        ActivePeriod storage p = _periods[esp];
        return p.sinceBlock != 0 && p.sinceBlock <= blockNumber && (p.untilBlock == 0 || blockNumber < p.untilBlock);
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
        return _recorded[lockId];
    }

    /// @inheritdoc IEspRegistry
    function esps() external view returns (address[] memory) {
        return _espList;
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

    /// @notice The Proof-of-AIGC registry allowed to report challenges.
    function registry() external view returns (address) {
        return _registry;
    }

    /// @dev Checks `lock` settled as `expected`, paid an ESP (ever registered: an ESP cannot
    /// escape its refunds by leaving) and has not been used; marks it used.
    function _claimLock(IHashTimeLock.Lock calldata lock, IHashTimeLock.Status expected) private returns (bytes32 id) {
        id = keccak256(abi.encode(lock));
        IHashTimeLock.Status status = _htlc.statusOfId(id);
        if (status != expected) revert FeedbackLockNotSettled(id, status);
        if (lock.asset == IHashTimeLock.Asset.ERC721) revert FeedbackNotPayment(id);
        if (bytes(_esps[lock.receiver].endpoint).length == 0) revert EspNotRegistered(lock.receiver);
        if (_recorded[id]) revert FeedbackAlreadyRecorded(id);
        _recorded[id] = true;
    }

    function _record(IHashTimeLock.Lock calldata lock, bytes32 id, bool positive) private {
        EvidenceLib.Evidence storage ev = _evidence[lock.receiver][lock.sender];
        if (ev.updatedAt == 0) _producers[lock.receiver].push(lock.sender);
        ev.record(positive, lock.amount, uint64(block.timestamp));
        emit FeedbackRecorded(lock.sender, lock.receiver, id, positive, lock.amount);
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
