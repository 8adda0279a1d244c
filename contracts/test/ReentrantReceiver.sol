// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";

/// @notice An attacker that re-enters a target with stored calldata when it receives Ether or an
/// ERC-721 token, and records whether the re-entry succeeded. `rejectEther` makes it refuse Ether.
contract ReentrantReceiver is IERC721Receiver {
    address public target;
    bytes public payload;
    bool public attempted;
    bool public reentered;
    bool public rejectEther;

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function setRejectEther(bool reject) external {
        rejectEther = reject;
    }

    /// @notice Forwards any call (so the attacker can act as a lock sender or token owner).
    function execute(address to, uint256 value, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = to.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        if (rejectEther) revert("no ether");
        _reenter();
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _reenter();
        return IERC721Receiver.onERC721Received.selector;
    }

    function _reenter() private {
        if (attempted || target == address(0)) return;
        attempted = true;
        (bool ok,) = target.call(payload);
        reentered = ok;
    }
}
