// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {DetailRule} from "../DetailRule.sol";

/// @title DetailRuleHarness: exposes the internal DetailRule library for the agreement tests.
/// @notice Test-only. `tests/services/provenance/test_detail.py` feeds it many descriptor pairs
/// and requires the same scores and verdicts as `services.provenance.detail`.
contract DetailRuleHarness {
    /// @notice DetailRule.LENGTH.
    function length() external pure returns (uint256) {
        return DetailRule.LENGTH;
    }

    /// @notice DetailRule.matches(a, b).
    function matches(bytes calldata a, bytes calldata b) external pure returns (bool) {
        return DetailRule.matches(a, b);
    }

    /// @notice DetailRule.score(a, b) as a tuple.
    function score(bytes calldata a, bytes calldata b) external pure returns (DetailRule.Score memory) {
        return DetailRule.score(a, b);
    }

    /// @notice DetailRule.isValid(d).
    function isValid(bytes calldata d) external pure returns (bool) {
        return DetailRule.isValid(d);
    }
}
