// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHashTimeLock} from "./IHashTimeLock.sol";
import {EvidenceLib} from "../EvidenceLib.sol";

/// @title IEspRegistry: edge service providers, their stakes, and the evidence reputation needs.
/// @notice Evidence about an ESP can only come from money that moved on a generation the ESP
/// accepted: the ESP signs an EIP-712 `Quote` over the lock's terms, anyone brings that signature
/// to `acknowledge`, and only acknowledged Ether locks count (the sender of a withdrawn lock gives
/// feedback once; a refunded lock is recorded as negative by anyone, once). A lock whose sender is
/// its receiver or a registered ESP records nothing. An upheld plagiarism challenge against an
/// image the ESP attested counts against it and slashes `slashAmount` of its stake to the injured
/// party (claimable with `claimCompensation`); an ESP whose stake falls below half the minimum is
/// deactivated. The stake cannot leave while acknowledged locks to the ESP are open.
interface IEspRegistry {
    /// @notice An ESP's public record.
    struct Esp {
        uint128 stake;
        uint64 unbondingEndsAt;
        uint32 challengesLost;
        bool active;
        uint256 price;
        string endpoint;
    }

    /// @notice A registration period: from `sinceBlock` through `untilBlock`, the deregistration
    /// block (0 while active).
    struct ActivePeriod {
        uint64 sinceBlock;
        uint64 untilBlock;
    }

    /// @notice Emitted when an ESP registers.
    event EspRegistered(address indexed esp, string endpoint, uint256 price, uint256 stake);
    /// @notice Emitted when an ESP changes its endpoint or price.
    event EspUpdated(address indexed esp, string endpoint, uint256 price);
    /// @notice Emitted when an ESP leaves; its stake unbonds until `unbondingEndsAt`.
    event EspDeregistered(address indexed esp, uint64 unbondingEndsAt);
    /// @notice Emitted when an ESP takes its stake back.
    event EspStakeWithdrawn(address indexed esp, uint256 amount);
    /// @notice Emitted when an ESP tops up its stake by `amount` (now `stake`).
    event EspStakeAdded(address indexed esp, uint256 amount, uint256 stake);
    /// @notice Emitted for every interaction recorded as evidence.
    event FeedbackRecorded(
        address indexed producer, address indexed esp, bytes32 indexed lockId, bool positive, uint256 value
    );
    /// @notice Emitted when a challenge against an image attested by `esp` is upheld.
    event ChallengeRecorded(address indexed esp, uint32 challengesLost);
    /// @notice Emitted when `amount` of `esp`'s stake is owed to `injured` for an upheld challenge.
    event EspSlashed(address indexed esp, address indexed injured, uint256 amount, uint256 stakeLeft);
    /// @notice Emitted when `esp`'s signed quote for lock `lockId` is recorded.
    event LockAcknowledged(bytes32 indexed lockId, address indexed esp, address indexed producer);
    /// @notice Emitted when a settled acknowledged lock stops holding `esp`'s stake.
    event LockReleased(bytes32 indexed lockId, address indexed esp);
    /// @notice Emitted when `to` takes the compensation slashed for it.
    event CompensationClaimed(address indexed to, uint256 amount);

    /// @notice The address is already a registered ESP.
    error EspAlreadyRegistered(address esp);
    /// @notice The address is not an active registered ESP.
    error EspNotRegistered(address esp);
    /// @notice The stake sent is below the minimum.
    error EspStakeTooLow(uint256 sent, uint256 minimum);
    /// @notice The stake cannot be withdrawn yet (still active or unbonding).
    error EspStakeLocked(address esp, uint64 unbondingEndsAt);
    /// @notice The endpoint is empty or longer than 256 bytes.
    error EspInvalidEndpoint(uint256 length);
    /// @notice Feedback needs a lock that was withdrawn (or, for refunds, refunded).
    error FeedbackLockNotSettled(bytes32 lockId, IHashTimeLock.Status status);
    /// @notice Only the sender of the lock may give feedback on it.
    error FeedbackNotLockSender(bytes32 lockId, address caller);
    /// @notice The lock pays an NFT, not a generation fee.
    error FeedbackNotPayment(bytes32 lockId);
    /// @notice The lock already produced evidence.
    error FeedbackAlreadyRecorded(bytes32 lockId);
    /// @notice The caller is not a Proof-of-AIGC registry bound to this contract (the Registry or
    /// the BatchRegistry), or binds one without being the deployer.
    error EspUnauthorizedRegistry(address caller);
    /// @notice The registry was already bound.
    error EspRegistryAlreadyBound(address registry);
    /// @notice An Ether payment failed.
    error EspTransferFailed(address to, uint256 amount);
    /// @notice The stake stays at risk until block `heldUntilBlock`: images the ESP attested may
    /// still be registered, challenged and settled until then (`exitDelay` after it stopped serving).
    error EspStakeHeld(address esp, uint64 heldUntilBlock);
    /// @notice The stake cannot leave while `openLocks` acknowledged locks to the ESP are open.
    error EspLocksOpen(address esp, uint256 openLocks);
    /// @notice The quote signature was not made by the lock's receiver over the lock's terms.
    error QuoteInvalidSignature(bytes32 lockId, address recovered);
    /// @notice No lock with these terms was ever created.
    error QuoteUnknownLock(bytes32 lockId);
    /// @notice The lock was already acknowledged.
    error QuoteAlreadyAcknowledged(bytes32 lockId);
    /// @notice The lock was never acknowledged by its receiver: it counts neither for nor against it.
    error FeedbackNotAcknowledged(bytes32 lockId);
    /// @notice Self-dealing: the lock's sender is its receiver or a registered ESP.
    error FeedbackSelfDealing(bytes32 lockId, address sender);
    /// @notice Only Ether locks weigh in reputation (a token's raw units say nothing of its value).
    error FeedbackAssetNotWeighed(bytes32 lockId, address token);
    /// @notice The acknowledged lock is still open (or was never acknowledged, or already released).
    error LockNotReleasable(bytes32 lockId);
    /// @notice Nothing is owed to the caller.
    error NoCompensation(address caller);
    /// @notice A batch is empty or its arrays differ in length.
    error EspBatchMismatch(uint256 locks, uint256 values);

    /// @notice Registers the caller as an ESP with a stake of `msg.value`.
    function register(string calldata endpoint, uint256 price) external payable;
    /// @notice Changes the caller's endpoint and price.
    function update(string calldata endpoint, uint256 price) external;
    /// @notice Stops serving; the stake unbonds for `unbondingPeriod` seconds.
    function deregister() external;
    /// @notice Adds `msg.value` to the caller's stake. An active ESP tops up any amount. An ESP
    /// that a slash deactivated (its stake under half the minimum) and that has not withdrawn
    /// since serves again, from this block (a new period, `EspRegistered`), once the stake is
    /// back at `minStake` (else `EspStakeTooLow`). Any other caller, an ESP that deregistered
    /// itself (exiting) among them, gets `EspNotRegistered`: its exit runs its course.
    function addStake() external payable;
    /// @notice Returns the caller's stake after unbonding, once no acknowledged lock to it is open
    /// and `exitDelay` blocks have passed since it stopped serving (`EspStakeHeld`).
    function withdrawStake() external;

    /// @notice Records that `lock.receiver` (an active ESP) accepted `lock`: `signature` is its
    /// EIP-712 `Quote` over the lock's terms. Anyone may call (the producer right after locking).
    /// While the lock is open it holds the ESP's stake (`openLocks`); a lock already settled is
    /// acknowledged without that. Reverts unless the ESP was active in the block the lock was created.
    function acknowledge(IHashTimeLock.Lock calldata lock, bytes calldata signature) external;
    /// @notice Stops settled acknowledged lock `lock` holding its ESP's stake (anyone may call;
    /// feedback and refund records do it by themselves).
    function release(IHashTimeLock.Lock calldata lock) external;
    /// @notice Feedback by the sender of withdrawn, acknowledged Ether lock `lock` about its
    /// receiver (an ESP).
    function submitFeedback(IHashTimeLock.Lock calldata lock, bool positive) external;
    /// @notice Records refunded, acknowledged Ether lock `lock` as a negative interaction of its
    /// sender with its receiver.
    function recordRefund(IHashTimeLock.Lock calldata lock) external;
    /// @notice `release` for each lock, all or nothing (an ESP frees its stake from many settled
    /// locks in one transaction).
    function releaseBatch(IHashTimeLock.Lock[] calldata locks) external;
    /// @notice `submitFeedback(locks[i], positive[i])` for each lock, all or nothing; the caller
    /// must be every lock's sender.
    function submitFeedbackBatch(IHashTimeLock.Lock[] calldata locks, bool[] calldata positive) external;
    /// @notice Called by a bound registry (the Registry at `settle`, the BatchRegistry when it
    /// revokes a batched item) once the revocation of a copy attested by `esp` is final:
    /// counts it and slashes min(`slashAmount`, stake), BURNED (owed to 0xdEaD, whatever
    /// `injured` says: paid to a challenger it was farmable with one's own false matches),
    /// deactivating an ESP whose stake falls below half the minimum.
    function recordChallengeUpheld(address esp, address injured) external;
    /// @notice Called by the registry when the detail rule finds that `esp` attested the same
    /// image to two payers (an equivocation: neither token is revoked): counts it as a lost
    /// challenge and slashes min(`slashAmount`, stake), half owed to `ownerA`, half to `ownerB`
    /// (all of it when they are the same). The Registry names its burn address for both: paid to
    /// the owners, the slash would be a bounty two Sybils could farm from an honest ESP.
    function recordEquivocation(address esp, address ownerA, address ownerB) external;
    /// @notice Pays the caller the compensation slashed for it.
    function claimCompensation() external;

    /// @notice True if `esp` is registered and active.
    function isActive(address esp) external view returns (bool);
    /// @notice True if `esp` was active in block `blockNumber`, in any of its registration
    /// periods: an attestation for a generation paid while the ESP served stays valid after it
    /// leaves, and after it leaves and registers again.
    function wasActiveAt(address esp, uint64 blockNumber) external view returns (bool);
    /// @notice Every registration period of `esp`, oldest first (the last one open while active).
    function periodsOf(address esp) external view returns (ActivePeriod[] memory);
    /// @notice The ESP's record.
    function espInfo(address esp) external view returns (Esp memory);
    /// @notice Upheld challenges against images `esp` attested.
    function challengesLost(address esp) external view returns (uint32);
    /// @notice The evidence of `producer` about `esp`.
    function evidence(address producer, address esp) external view returns (EvidenceLib.Evidence memory);
    /// @notice Every producer with evidence about `esp`, in first-interaction order.
    function producersOf(address esp) external view returns (address[] memory);
    /// @notice Whether lock `lockId` already produced evidence.
    function feedbackRecorded(bytes32 lockId) external view returns (bool);
    /// @notice Every registered ESP (active or not), in registration order.
    function esps() external view returns (address[] memory);
    /// @notice Acknowledged locks to `esp` not yet released (its stake cannot leave while > 0).
    function openLocks(address esp) external view returns (uint256);
    /// @notice Whether lock `lockId` was acknowledged by its receiver.
    function acknowledged(bytes32 lockId) external view returns (bool);
    /// @notice Slashed stake owed to `account`, in wei.
    function compensationOf(address account) external view returns (uint256);
    /// @notice The EIP-712 digest the ESP signs to acknowledge `lock`.
    function quoteDigest(IHashTimeLock.Lock calldata lock) external view returns (bytes32);
}
