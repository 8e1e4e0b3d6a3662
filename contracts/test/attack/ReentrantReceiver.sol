// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC1155Receiver} from "@openzeppelin/contracts/token/ERC1155/IERC1155Receiver.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";

/// @title ReentrantReceiver
/// @notice Test-only hostile ERC-1155 holder. Its acceptance callback (the only code a buyer
///         controls during `OptionMarket.buy`) can
///         - Accept: behave;
///         - Reenter: call a configured target once (buy, redeem, settle, the vault's withdraw...)
///           and record whether that call succeeded and what it returned or reverted with;
///         - Revert: refuse every transfer;
///         - BurnGas: loop until the transaction runs out of gas.
///         `exec` lets the test act as this contract (approve, deposit, buy, redeem).
///         Never deployed by scripts/deploy.py.
contract ReentrantReceiver is IERC1155Receiver {
    enum Mode {
        Accept,
        Reenter,
        Revert,
        BurnGas
    }

    Mode public mode;
    address public reentryTarget;
    bytes public reentryData;

    uint256 public callbacks;
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryResult;

    error ReceiverRefuses();

    function setMode(Mode mode_, address target, bytes calldata data) external {
        mode = mode_;
        reentryTarget = target;
        reentryData = data;
        reentryAttempted = false;
        reentrySucceeded = false;
        delete reentryResult;
    }

    function exec(address target, bytes calldata data) external returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _hook();
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        returns (bytes4)
    {
        _hook();
        return this.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC1155Receiver).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    function _hook() internal {
        callbacks += 1;
        Mode m = mode;
        if (m == Mode.Revert) revert ReceiverRefuses();
        if (m == Mode.BurnGas) {
            uint256 x;
            while (gasleft() > 0) {
                x += 1;
            }
        }
        if (m == Mode.Reenter && !reentryAttempted) {
            reentryAttempted = true;
            (reentrySucceeded, reentryResult) = reentryTarget.call(reentryData);
        }
    }
}
