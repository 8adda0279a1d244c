// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title EvidenceLib: the per-(producer, ESP) interaction evidence that MWSL reputation needs.
/// @notice Evidence is two decayed, value-weighted sums (1e18 = one full interaction):
///
///   positive = sum over positive interactions of weight(value) * DECAY ** (K - k_i)
///   negative = the same over negative interactions
///
/// where k_i = floor(t_i / PERIOD) is the decay period of interaction i and K the period of the
/// last update (`updatedAt`). Decay is lazy and uses absolute period boundaries, so the result
/// does not depend on when the evidence is touched: decaying to period K' later multiplies both
/// sums by DECAY ** (K' - K) (see `decayed`). The weight of an interaction worth `value` is
/// min(1, value / VALUE_REFERENCE) ** 2: a full interaction at or above the reference, quadratically
/// less below it, so many tiny payments count for less than a few substantial ones.
///
/// These constants are mirrored by `services.reputation.ReputationParams()` (decay=0.95,
/// period=86400, value_reference=10**15); the off-chain engine agrees with `ReputationView`.
library EvidenceLib {
    /// @notice Decayed weights of one producer's interactions with one ESP.
    /// @dev One storage slot: 96 + 96 + 64 bits. `updatedAt == 0` means no evidence yet.
    struct Evidence {
        uint96 positive;
        uint96 negative;
        uint64 updatedAt;
    }

    /// @notice Fixed-point one (1e18): one full interaction, and a factor of 1.
    uint256 internal constant ONE = 1e18;
    /// @notice Timeliness: evidence keeps this share of its weight per elapsed period (0.95).
    uint256 internal constant DECAY = 0.95e18;
    /// @notice Length of one decay period, in seconds.
    uint64 internal constant PERIOD = 1 days;
    /// @notice Lock value (in the asset's base units) from which an interaction counts fully.
    uint256 internal constant VALUE_REFERENCE = 1e15;

    /// @notice Adds one interaction (`positive` or not, worth `value`) observed at `nowTs`.
    /// @dev Decays the stored sums to `nowTs`'s period, then adds the interaction's weight.
    /// SafeCast reverts only beyond ~7.9e10 full interactions within one decay horizon.
    function record(Evidence storage e, bool positive, uint256 value, uint64 nowTs) internal {
        uint256 p = e.positive;
        uint256 n = e.negative;
        uint64 last = e.updatedAt;
        // Same period as the last update (or no evidence yet): nothing to decay.
        if (last != 0 && nowTs / PERIOD != last / PERIOD) {
            uint256 f = decayFactor(nowTs / PERIOD - last / PERIOD);
            p = (p * f) / ONE;
            n = (n * f) / ONE;
        }
        uint256 w = weight(value);
        if (positive) {
            p += w;
        } else {
            n += w;
        }
        e.positive = SafeCast.toUint96(p);
        e.negative = SafeCast.toUint96(n);
        e.updatedAt = nowTs;
    }

    /// @notice The evidence as of `nowTs`: decayed positive and negative weight, and the
    /// timeliness DECAY ** (periods since the last update) (0 without evidence), all 1e18-scaled.
    /// @dev `nowTs` must not be before `updatedAt` (block time never goes back when recording;
    /// `ReputationView` checks explicit times with its own error).
    function decayed(Evidence memory e, uint64 nowTs)
        internal
        pure
        returns (uint256 positive, uint256 negative, uint256 timeliness)
    {
        uint64 last = e.updatedAt;
        if (last == 0) return (0, 0, 0);
        timeliness = decayFactor(nowTs / PERIOD - last / PERIOD);
        positive = (uint256(e.positive) * timeliness) / ONE;
        negative = (uint256(e.negative) * timeliness) / ONE;
    }

    /// @notice The weight of one interaction worth `value`: min(1, value / VALUE_REFERENCE)^2.
    function weight(uint256 value) internal pure returns (uint256) {
        if (value >= VALUE_REFERENCE) return ONE;
        // value < 1e15, so value * value * ONE < 1e48: no overflow.
        return (value * value * ONE) / (VALUE_REFERENCE * VALUE_REFERENCE);
    }

    /// @notice DECAY ** `periods` in 1e18 fixed point (square-and-multiply, rounding down).
    /// @dev Factors stay <= ONE, so every product is < 1e36: no overflow. Stops once it is 0.
    function decayFactor(uint256 periods) internal pure returns (uint256 result) {
        result = ONE;
        uint256 base = DECAY;
        while (periods != 0 && result != 0) {
            if (periods & 1 == 1) result = (result * base) / ONE;
            periods >>= 1;
            base = (base * base) / ONE;
        }
    }
}
