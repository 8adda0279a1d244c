// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title EvidenceLib: the per-(producer, ESP) interaction evidence that reputation needs.
/// @notice Weights are 1e18 fixed point (1e18 = one interaction). This first version counts
/// interactions without decay; the reputation work refines it (time decay, value weighting).
library EvidenceLib {
    struct Evidence {
        uint96 positive;
        uint96 negative;
        uint64 updatedAt;
    }

    uint256 internal constant ONE = 1e18;

    /// @notice Adds one interaction (`positive` or not, worth `value`) observed at `nowTs`.
    function record(Evidence storage e, bool positive, uint256 value, uint64 nowTs) internal {
        value; // not weighed yet
        if (positive) {
            e.positive += uint96(ONE);
        } else {
            e.negative += uint96(ONE);
        }
        e.updatedAt = nowTs;
    }
}
