// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title LockAndPause
/// @notice OpenZeppelin's ReentrancyGuard and Pausable, with their errors, events and view, kept in
///         one storage slot: every guarded entry point reads both, and one cold slot instead of two
///         saves 2,100 gas on each deposit, withdrawal and rebalance.
/// @dev Same semantics as OZ 5.4: `nonReentrant` reverts with ReentrancyGuardReentrantCall on
///      re-entry; `whenNotPaused` with EnforcedPause; `_pause`/`_unpause` emit Paused/Unpaused and
///      revert with EnforcedPause/ExpectedPause when already in that state.
abstract contract LockAndPause {
    uint8 private constant NOT_ENTERED = 1;
    uint8 private constant ENTERED = 2;

    /// @dev Non-zero from construction, so entering never pays the zero-to-non-zero store.
    uint8 private _status = NOT_ENTERED;
    bool private _paused;

    event Paused(address account);
    event Unpaused(address account);

    error ReentrancyGuardReentrantCall();
    error EnforcedPause();
    error ExpectedPause();

    /// @dev Modifiers are inlined at every use: the work sits in functions, as OZ's does.
    modifier nonReentrant() {
        _enter();
        _;
        _status = NOT_ENTERED;
    }

    function _enter() private {
        if (_status == ENTERED) revert ReentrancyGuardReentrantCall();
        _status = ENTERED;
    }

    modifier whenNotPaused() {
        _requireNotPaused();
        _;
    }

    function paused() public view returns (bool) {
        return _paused;
    }

    function _requireNotPaused() internal view {
        if (_paused) revert EnforcedPause();
    }

    function _pause() internal {
        _requireNotPaused();
        _paused = true;
        emit Paused(msg.sender);
    }

    function _unpause() internal {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }
}
