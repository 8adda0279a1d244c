// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IHashTimeLock} from "./IHashTimeLock.sol";
import {EvidenceLib} from "../EvidenceLib.sol";

/// @title IEspRegistry: edge service providers, their stakes, and the evidence reputation needs.
/// @notice Evidence about an ESP can only come from money that moved: the sender of a settled
/// (withdrawn) Ether/ERC-20 lock paid to a registered ESP gives feedback once for that lock; a
/// refunded lock to an ESP is recorded as a negative interaction by anyone, once; an upheld
/// plagiarism challenge against an image the ESP attested counts against it. Addresses that never
/// paid an ESP cannot create evidence about it (Sybil resistance by construction).
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

    /// @notice Emitted when an ESP registers.
    event EspRegistered(address indexed esp, string endpoint, uint256 price, uint256 stake);
    /// @notice Emitted when an ESP changes its endpoint or price.
    event EspUpdated(address indexed esp, string endpoint, uint256 price);
    /// @notice Emitted when an ESP leaves; its stake unbonds until `unbondingEndsAt`.
    event EspDeregistered(address indexed esp, uint64 unbondingEndsAt);
    /// @notice Emitted when an ESP takes its stake back.
    event EspStakeWithdrawn(address indexed esp, uint256 amount);
    /// @notice Emitted for every interaction recorded as evidence.
    event FeedbackRecorded(
        address indexed producer, address indexed esp, bytes32 indexed lockId, bool positive, uint256 value
    );
    /// @notice Emitted when a challenge against an image attested by `esp` is upheld.
    event ChallengeRecorded(address indexed esp, uint32 challengesLost);

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
    /// @notice The caller is not the Proof-of-AIGC registry bound to this contract.
    error EspUnauthorizedRegistry(address caller);
    /// @notice The registry was already bound.
    error EspRegistryAlreadyBound(address registry);
    /// @notice An Ether payment failed.
    error EspTransferFailed(address to, uint256 amount);

    /// @notice Registers the caller as an ESP with a stake of `msg.value`.
    function register(string calldata endpoint, uint256 price) external payable;
    /// @notice Changes the caller's endpoint and price.
    function update(string calldata endpoint, uint256 price) external;
    /// @notice Stops serving; the stake unbonds for `unbondingPeriod` seconds.
    function deregister() external;
    /// @notice Returns the caller's stake after unbonding.
    function withdrawStake() external;

    /// @notice Feedback by the sender of withdrawn lock `lock` about its receiver (an ESP).
    function submitFeedback(IHashTimeLock.Lock calldata lock, bool positive) external;
    /// @notice Records refunded lock `lock` as a negative interaction of its sender with its receiver.
    function recordRefund(IHashTimeLock.Lock calldata lock) external;
    /// @notice Called by the registry when a challenge against an image attested by `esp` is upheld.
    function recordChallengeUpheld(address esp) external;

    /// @notice True if `esp` is registered and active.
    function isActive(address esp) external view returns (bool);
    /// @notice True if `esp` was active in block `blockNumber` (its latest registration period):
    /// an attestation for a generation paid while the ESP served stays valid after it leaves.
    function wasActiveAt(address esp, uint64 blockNumber) external view returns (bool);
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
}
