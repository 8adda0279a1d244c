// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IHashTimeLock: hash-time locks for ETH, ERC-20 and ERC-721.
/// @notice A lock pays `receiver` when someone shows a 32-byte `preimage` with
/// `sha256(preimage) == hashlock` strictly before `timelock`, or returns the asset to `sender` at
/// or after `timelock`. sha256 (not keccak) so that the same secret opens locks on other chains.
/// Only a commitment is stored per lock: `id = keccak256(abi.encode(lock))` mapped to its status.
/// Callers pass the full `Lock` back in calldata (it is in the `Locked` event).
interface IHashTimeLock {
    /// @notice What a lock holds.
    enum Asset {
        Ether,
        ERC20,
        ERC721
    }

    /// @notice A lock's life: it is created Open and settles exactly once.
    enum Status {
        None,
        Open,
        Withdrawn,
        Refunded
    }

    /// @notice Every field of a lock; its keccak256 (ABI-encoded) is the lock id.
    /// @param amount the amount for Ether and ERC-20 (as received), the token id for ERC-721.
    struct Lock {
        address sender;
        address receiver;
        Asset asset;
        address token;
        uint256 amount;
        bytes32 hashlock;
        uint64 timelock;
    }

    /// @notice Emitted when a lock is created; carries every field needed to settle it.
    event Locked(
        bytes32 indexed id,
        address indexed sender,
        address indexed receiver,
        Asset asset,
        address token,
        uint256 amount,
        bytes32 hashlock,
        uint64 timelock
    );
    /// @notice Emitted when a lock pays its receiver; publishes the preimage.
    event Withdrawn(bytes32 indexed id, bytes32 preimage);
    /// @notice Emitted when a lock returns its asset to the sender.
    event Refunded(bytes32 indexed id);

    /// @notice A lock with the same fields already exists (or existed).
    error LockAlreadyExists(bytes32 id);
    /// @notice The lock is not open (never created, or already settled).
    error LockNotOpen(bytes32 id, Status status);
    /// @notice Withdrawal attempted at or after the timelock.
    error LockExpired(bytes32 id, uint64 expiredAt);
    /// @notice An Ether or ERC-20 lock withdrawn after `claimWindow` blocks from its lock's block
    /// (the last block it could be withdrawn in is `lastBlock`); it refunds at its timelock.
    error LockClaimWindowClosed(bytes32 id, uint64 lastBlock);
    /// @notice Refund attempted before the timelock.
    error LockNotExpired(bytes32 id, uint64 expiresAt);
    /// @notice sha256(preimage) differs from the hashlock.
    error LockPreimageMismatch(bytes32 id, bytes32 hashlock);
    /// @notice The timelock is closer than the minimum lock duration.
    error LockTimelockTooShort(uint64 timelock, uint64 earliestAllowed);
    /// @notice An ERC-721 lock's timelock is later than `maxTokenLockDuration` from now.
    error LockTimelockTooLong(uint64 timelock, uint64 latestAllowed);
    /// @notice Zero amount (or nothing received from a fee-taking token).
    error LockZeroAmount();
    /// @notice Zero receiver address.
    error LockZeroReceiver();
    /// @notice The receiver is the sender: a lock to oneself moves nothing and would only wash
    /// reputation (EspRegistry counts generation locks as evidence).
    error LockSelfDealing(address account);
    /// @notice A token address that is not a contract.
    error LockInvalidToken(address token);
    /// @notice An Ether payment to `to` failed.
    error LockTransferFailed(address to, uint256 amount);
    /// @notice A batch's arrays differ in length, or the batch is empty.
    error LockBatchMismatch(uint256 locks, uint256 preimages);

    /// @notice Locks `msg.value` wei for `receiver`. @return id the lock id.
    function lockEther(address receiver, bytes32 hashlock, uint64 timelock) external payable returns (bytes32 id);

    /// @notice Locks `amount` of ERC-20 `token` (pulled from the caller, who approved it). The lock
    /// records what actually arrived, so fee-on-transfer tokens are handled. @return id the lock id.
    function lockERC20(address token, uint256 amount, address receiver, bytes32 hashlock, uint64 timelock)
        external
        returns (bytes32 id);

    /// @notice Locks ERC-721 `token` #`tokenId` (pulled from the caller, who approved it), with
    /// a timelock at most `maxTokenLockDuration` seconds away. @return id the lock id.
    function lockERC721(address token, uint256 tokenId, address receiver, bytes32 hashlock, uint64 timelock)
        external
        returns (bytes32 id);

    /// @notice Pays `lock.receiver` (whoever calls) if `sha256(preimage) == lock.hashlock`,
    /// `block.timestamp < lock.timelock` and, for Ether and ERC-20, `block.number <=
    /// lockedAtBlock + claimWindow()`.
    function withdraw(Lock calldata lock, bytes32 preimage) external;

    /// @notice Returns the asset to `lock.sender` (whoever calls) once `block.timestamp >= lock.timelock`.
    function refund(Lock calldata lock) external;

    /// @notice `withdraw` for each `locks[i]` with `preimages[i]`, all or nothing (one bad lock
    /// reverts the batch with that lock's own error). Every status changes before any payment;
    /// consecutive Ether locks to one receiver are paid in one transfer, so an ESP claiming many
    /// fees pays one call, not one per lock.
    function withdrawBatch(Lock[] calldata locks, bytes32[] calldata preimages) external;

    /// @notice The status of the lock with these fields.
    function statusOf(Lock calldata lock) external view returns (Status);

    /// @notice The status of lock `id`.
    function statusOfId(bytes32 id) external view returns (Status);

    /// @notice The status of lock `id` and the block it was created in (0 if never created).
    function lockInfo(bytes32 id) external view returns (Status status, uint64 lockedAtBlock);

    /// @notice The id of a lock with these fields.
    function lockId(Lock calldata lock) external pure returns (bytes32);

    /// @notice The shortest allowed distance between a lock's creation and its timelock, in seconds.
    function minLockDuration() external view returns (uint64);

    /// @notice The most blocks after its lock's block that an Ether or ERC-20 lock may be
    /// withdrawn in (ERC-721 locks: no bound). Shorter than the Registry's registration window,
    /// which checks it at deployment: a generation fee is claimed (the image delivered) early
    /// enough for its producer to commit inside the window.
    function claimWindow() external view returns (uint64);

    /// @notice The longest an ERC-721 lock (a listing) may last, in seconds: a listing ends, and
    /// the Registry then keeps a token out of the escrow for `commitTtl + 1` blocks, so that a
    /// `reclaim` (which refuses an escrowed token) always has its turn.
    function maxTokenLockDuration() external view returns (uint64);
}
