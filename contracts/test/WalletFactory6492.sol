// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {OwnedWallet1271} from "./OwnedWallet1271.sol";

/// @notice A CREATE2 factory of `OwnedWallet1271` accounts for ERC-6492 tests: `predict` gives the
/// address before anything is deployed, `deploy` puts the account there (once; a second call
/// reverts because the address is taken).
contract WalletFactory6492 {
    event Deployed(address indexed wallet, address indexed owner, bytes32 salt);

    function deploy(address owner, bytes32 salt) external returns (address wallet) {
        wallet = address(new OwnedWallet1271{salt: salt}(owner));
        emit Deployed(wallet, owner, salt);
    }

    function predict(address owner, bytes32 salt) external view returns (address) {
        bytes32 codeHash = keccak256(abi.encodePacked(type(OwnedWallet1271).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, codeHash)))));
    }
}
