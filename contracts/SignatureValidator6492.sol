// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @notice A deployless ERC-6492 checker: never deployed, only run with `eth_call` as creation
/// code (`bytecode ++ abi.encode(signer, hash, signature)`, no `to`). The constructor returns one
/// byte, 0x01 when the signature is valid for `signer`, 0x00 otherwise; nothing persists.
///
/// Protocol (ERC-6492): a signature that ends with the 32-byte magic suffix wraps
/// `abi.encode(address factory, bytes factoryCalldata, bytes innerSignature)`. When `signer` has
/// no code yet, the factory is called with the calldata (it should deploy the account at
/// `signer`); the result of that call is ignored. Then `signer` must have code, and its ERC-1271
/// `isValidSignature(hash, innerSignature)` must return the magic value 0x1626ba7e, exactly
/// (one ABI word, bytes4 left-aligned, rest zero). A signature without the suffix is checked with
/// ERC-1271 directly when `signer` has code. Plain ECDSA (EOAs) is checked off chain.
///
/// Invariants: a factory that deploys some other address leaves `signer` without code and the
/// check fails; the result only ever concerns `signer`, so a wallet that says yes to anything can
/// vouch only for itself.
contract SignatureValidator6492 {
    bytes32 private constant ERC6492_SUFFIX =
        0x6492649264926492649264926492649264926492649264926492649264926492;

    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = _isValid(signer, hash, signature);
        assembly ("memory-safe") {
            mstore(0, valid)
            return(31, 1)
        }
    }

    function _isValid(address signer, bytes32 hash, bytes memory signature) private returns (bool) {
        uint256 length = signature.length;
        bytes32 tail;
        if (length >= 32) {
            assembly ("memory-safe") {
                tail := mload(add(signature, length))
            }
        }
        if (tail != ERC6492_SUFFIX) {
            return signer.code.length > 0 && _isValid1271(signer, hash, signature);
        }
        // Drop the suffix in place: the wrapper is the first `length - 32` bytes (cannot
        // underflow: length >= 32 here).
        assembly ("memory-safe") {
            mstore(signature, sub(length, 32))
        }
        (address factory, bytes memory factoryCalldata, bytes memory inner) =
            abi.decode(signature, (address, bytes, bytes));
        if (signer.code.length == 0) {
            // The factory's success or failure is not trusted either way: only the code at
            // `signer` afterwards counts.
            (bool called,) = factory.call(factoryCalldata);
            called;
            if (signer.code.length == 0) {
                return false;
            }
        }
        return _isValid1271(signer, hash, inner);
    }

    function _isValid1271(address signer, bytes32 hash, bytes memory signature) private view returns (bool) {
        (bool ok, bytes memory ret) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (hash, signature)));
        return ok && ret.length == 32 && bytes32(ret) == bytes32(IERC1271.isValidSignature.selector);
    }
}
