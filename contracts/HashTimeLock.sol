// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IHashTimeLock} from "./interfaces/IHashTimeLock.sol";

/// @title HashTimeLock
/// @notice Protocol: lock (asset moves in, status Open) -> withdraw with the preimage before the
/// timelock (asset to the receiver, preimage published) or refund at/after the timelock (asset back
/// to the sender). Used for generation fees (producer -> ESP, secret held by the ESP) and for both
/// legs of an atomic swap (token -> buyer, price -> seller, one secret held by the seller).
///
/// Invariants:
/// - each lock id moves None -> Open -> (Withdrawn | Refunded) and never back;
/// - the contract holds exactly the assets of Open locks (Ether and each token);
/// - only the stored receiver can ever be paid by `withdraw`, only the stored sender by `refund`;
/// - no lock has its sender as receiver (self-dealing moves nothing and would wash reputation).
///
/// Storage is one slot per lock (its status and creation block under the commitment
/// `keccak256(abi.encode(lock))`; the block is what Proof-of-AIGC priority follows):
/// the fields travel in calldata and in the `Locked` event. Status changes happen before any
/// external call (checks-effects-interactions) and every entry point is `nonReentrant`
/// (transient storage, EIP-1153).
contract HashTimeLock is IHashTimeLock, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One slot: the status (1 byte) and the block the lock was created in (8 bytes).
    struct State {
        Status status;
        uint64 lockedAtBlock;
    }

    mapping(bytes32 id => State) private _states;
    uint64 private immutable _minLockDuration;
    uint64 private immutable _claimWindow;
    uint64 private immutable _maxTokenLockDuration;

    /// @param claimWindow_ the most blocks after its lock's block that an Ether or ERC-20 lock may
    /// be withdrawn in (see `claimWindow`); at least one.
    /// @param maxTokenLockDuration_ the longest an ERC-721 lock may last, in seconds (see
    /// `maxTokenLockDuration`); at least the minimum lock duration.
    constructor(uint64 minLockDuration_, uint64 claimWindow_, uint64 maxTokenLockDuration_) {
        if (claimWindow_ == 0) revert LockClaimWindowClosed(bytes32(0), 0);
        if (maxTokenLockDuration_ < minLockDuration_) {
            revert LockTimelockTooLong(minLockDuration_, maxTokenLockDuration_);
        }
        _minLockDuration = minLockDuration_;
        _claimWindow = claimWindow_;
        _maxTokenLockDuration = maxTokenLockDuration_;
    }

    /// @inheritdoc IHashTimeLock
    function lockEther(address receiver, bytes32 hashlock, uint64 timelock)
        external
        payable
        nonReentrant
        returns (bytes32)
    {
        return _open(Lock(msg.sender, receiver, Asset.Ether, address(0), msg.value, hashlock, timelock));
    }

    /// @inheritdoc IHashTimeLock
    function lockERC20(address token, uint256 amount, address receiver, bytes32 hashlock, uint64 timelock)
        external
        nonReentrant
        returns (bytes32)
    {
        if (token.code.length == 0) revert LockInvalidToken(token);
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        return _open(Lock(msg.sender, receiver, Asset.ERC20, token, received, hashlock, timelock));
    }

    /// @inheritdoc IHashTimeLock
    function lockERC721(address token, uint256 tokenId, address receiver, bytes32 hashlock, uint64 timelock)
        external
        nonReentrant
        returns (bytes32 id)
    {
        if (token.code.length == 0) revert LockInvalidToken(token);
        // A listing ends: a token parked in the escrow for good would be out of reach of the
        // Registry's `reclaim`, which refuses an escrowed token.
        uint64 latest = uint64(block.timestamp) + _maxTokenLockDuration;
        if (timelock > latest) revert LockTimelockTooLong(timelock, latest);
        id = _open(Lock(msg.sender, receiver, Asset.ERC721, token, tokenId, hashlock, timelock));
        IERC721(token).transferFrom(msg.sender, address(this), tokenId);
    }

    /// @inheritdoc IHashTimeLock
    function withdraw(Lock calldata lock, bytes32 preimage) external nonReentrant {
        bytes32 id = _claim(lock);
        if (sha256(abi.encodePacked(preimage)) != lock.hashlock) revert LockPreimageMismatch(id, lock.hashlock);
        emit Withdrawn(id, preimage);
        _pay(lock, lock.receiver);
    }

    /// @inheritdoc IHashTimeLock
    function withdrawBatch(Lock[] calldata locks, bytes32[] calldata preimages) external nonReentrant {
        uint256 n = locks.length;
        if (n == 0 || n != preimages.length) revert LockBatchMismatch(n, preimages.length);
        for (uint256 i; i < n; ++i) {
            Lock calldata lock = locks[i];
            bytes32 id = _claim(lock);
            if (sha256(abi.encodePacked(preimages[i])) != lock.hashlock) {
                revert LockPreimageMismatch(id, lock.hashlock);
            }
            emit Withdrawn(id, preimages[i]);
        }
        // Effects are done for every lock; now the interactions, merging runs of Ether to one receiver.
        address to;
        uint256 owed;
        for (uint256 i; i < n; ++i) {
            Lock calldata lock = locks[i];
            if (lock.asset != Asset.Ether) {
                _pay(lock, lock.receiver);
                continue;
            }
            if (lock.receiver != to) {
                _payEther(to, owed);
                (to, owed) = (lock.receiver, 0);
            }
            owed += lock.amount;
        }
        _payEther(to, owed);
    }

    /// @inheritdoc IHashTimeLock
    function refund(Lock calldata lock) external nonReentrant {
        (bytes32 id,) = _settle(lock, Status.Refunded);
        if (block.timestamp < lock.timelock) revert LockNotExpired(id, lock.timelock);
        emit Refunded(id);
        _pay(lock, lock.sender);
    }

    /// @inheritdoc IHashTimeLock
    function statusOf(Lock calldata lock) external view returns (Status) {
        return _states[keccak256(abi.encode(lock))].status;
    }

    /// @inheritdoc IHashTimeLock
    function statusOfId(bytes32 id) external view returns (Status) {
        return _states[id].status;
    }

    /// @inheritdoc IHashTimeLock
    function lockInfo(bytes32 id) external view returns (Status status, uint64 lockedAtBlock) {
        State storage s = _states[id];
        return (s.status, s.lockedAtBlock);
    }

    /// @inheritdoc IHashTimeLock
    function lockId(Lock calldata lock) external pure returns (bytes32) {
        return keccak256(abi.encode(lock));
    }

    /// @inheritdoc IHashTimeLock
    function minLockDuration() external view returns (uint64) {
        return _minLockDuration;
    }

    /// @inheritdoc IHashTimeLock
    function claimWindow() external view returns (uint64) {
        return _claimWindow;
    }

    /// @inheritdoc IHashTimeLock
    function maxTokenLockDuration() external view returns (uint64) {
        return _maxTokenLockDuration;
    }

    function _open(Lock memory lock) private returns (bytes32 id) {
        if (lock.receiver == address(0)) revert LockZeroReceiver();
        if (lock.receiver == lock.sender) revert LockSelfDealing(lock.sender);
        if (lock.amount == 0 && lock.asset != Asset.ERC721) revert LockZeroAmount();
        uint64 earliest = uint64(block.timestamp) + _minLockDuration;
        if (lock.timelock < earliest) revert LockTimelockTooShort(lock.timelock, earliest);
        id = keccak256(abi.encode(lock));
        if (_states[id].status != Status.None) revert LockAlreadyExists(id);
        _states[id] = State(Status.Open, uint64(block.number));
        emit Locked(id, lock.sender, lock.receiver, lock.asset, lock.token, lock.amount, lock.hashlock, lock.timelock);
    }

    /// @dev Checks the lock is Open and moves it to `to` before any external call; returns its
    /// id and block.
    function _settle(Lock calldata lock, Status to) private returns (bytes32 id, uint64 lockedAt) {
        id = keccak256(abi.encode(lock));
        State storage s = _states[id];
        Status current = s.status;
        if (current != Status.Open) revert LockNotOpen(id, current);
        lockedAt = s.lockedAtBlock;
        s.status = to;
    }

    /// @dev `_settle` to Withdrawn, before the timelock and, for Ether and ERC-20, within
    /// `claimWindow` blocks of the lock's block: a generation fee claimed (the image delivered)
    /// later would leave its producer no commit inside the Registry's registration window, which
    /// counts from that block (a late registration gets no lock priority and needs its ESP still
    /// active). An ERC-721 lock (a sale's token leg) has no such bound: its buyer claims it after
    /// the seller claimed the payment, whose own window starts later.
    function _claim(Lock calldata lock) private returns (bytes32 id) {
        uint64 lockedAt;
        (id, lockedAt) = _settle(lock, Status.Withdrawn);
        if (block.timestamp >= lock.timelock) revert LockExpired(id, lock.timelock);
        unchecked {
            uint256 last = uint256(lockedAt) + _claimWindow; // two uint64: no overflow
            if (block.number > last && lock.asset != Asset.ERC721) revert LockClaimWindowClosed(id, uint64(last));
        }
    }

    function _payEther(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert LockTransferFailed(to, amount);
    }

    function _pay(Lock calldata lock, address to) private {
        if (lock.asset == Asset.Ether) {
            _payEther(to, lock.amount);
        } else if (lock.asset == Asset.ERC20) {
            IERC20(lock.token).safeTransfer(to, lock.amount);
        } else {
            // Not `safeTransferFrom`: a receiver contract without `onERC721Received` (a smart
            // account with no fallback handler) would make the buyer's claim revert after the
            // seller took the payment, and the seller's refund at the timelock keep both.
            IERC721(lock.token).transferFrom(address(this), to, lock.amount);
        }
    }
}
