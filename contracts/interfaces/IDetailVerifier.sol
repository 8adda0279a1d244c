// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IDetailVerifier: the stage-2 rule of a contested Proof-of-AIGC challenge, deployed once.
/// @notice A separate contract so the Registry stays under the EIP-170 code-size limit; it is
/// stateless and pure, so calling it is as trustworthy as inlining it.
interface IDetailVerifier {
    /// @notice Bytes in a detail descriptor.
    function length() external pure returns (uint256);
    /// @notice True when both descriptors are valid and show the same image (`DetailRule`).
    function matches(bytes calldata a, bytes calldata b) external pure returns (bool);
    /// @notice The verdict of the calling forum's dispute of `duplicate` by `original` on their
    /// descriptors `a` and `b`: what each forum's `resolve` asks. Here the rule's answer
    /// (`matches`); the committee (`ICommitteeVerifier.matchesFor`) answers that dispute's review.
    function matchesFor(uint256 original, uint256 duplicate, bytes calldata a, bytes calldata b)
        external
        view
        returns (bool);
}
