// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice A minimal ERC-1271 smart account for tests: a signature is valid when its one owner
/// signed the hash (ECDSA, 65 bytes or EIP-2098 64 bytes). Deployed directly or through
/// `WalletFactory6492` (CREATE2, counterfactual address known before deployment).
contract OwnedWallet1271 is IERC1271 {
    address private immutable _owner;

    constructor(address owner_) {
        _owner = owner_;
    }

    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        address signer;
        ECDSA.RecoverError err;
        if (signature.length == 64) {
            // EIP-2098 compact form: OpenZeppelin 5 reads it only through the (r, vs) overload.
            (signer, err,) = ECDSA.tryRecover(hash, bytes32(signature[:32]), bytes32(signature[32:]));
        } else {
            (signer, err,) = ECDSA.tryRecover(hash, signature);
        }
        if (err == ECDSA.RecoverError.NoError && signer == _owner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}
