// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IDetailVerifier} from "./interfaces/IDetailVerifier.sol";
import {DetailRule} from "./DetailRule.sol";

/// @title DetailVerifier: `DetailRule` behind an external call, for the Registry's `resolve`.
contract DetailVerifier is IDetailVerifier {
    /// @inheritdoc IDetailVerifier
    function length() external pure returns (uint256) {
        return DetailRule.LENGTH;
    }

    /// @inheritdoc IDetailVerifier
    function matches(bytes calldata a, bytes calldata b) public pure returns (bool) {
        return DetailRule.isValid(a) && DetailRule.isValid(b) && DetailRule.matches(a, b);
    }

    /// @inheritdoc IDetailVerifier
    function matchesFor(uint256, uint256, bytes calldata a, bytes calldata b) external pure returns (bool) {
        return matches(a, b);
    }
}
