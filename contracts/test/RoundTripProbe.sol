// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title RoundTripProbe
/// @notice Test helper: enters and leaves an ERC-4626 vault in one transaction, so both legs see
///         the same block and the same prices. Tests call it with `eth_call` (no state change) to
///         check that shares never mint for free: what comes back is never more than what was paid.
///         Funded with the asset by the test; never deployed by scripts/deploy.py.
contract RoundTripProbe {
    /// @return shares minted by `deposit(assets)`; back: assets returned by redeeming all of them
    ///         (0 if the redeem reverts, e.g. the shares are worth less than one unit).
    function depositRedeem(IERC4626 vault, uint256 assets) external returns (uint256 shares, uint256 back) {
        IERC20(vault.asset()).approve(address(vault), assets);
        shares = vault.deposit(assets, address(this));
        try vault.redeem(shares, address(this), address(this)) returns (uint256 assetsOut) {
            back = assetsOut;
        } catch {}
    }

    /// @return paid assets charged by `mint(shares)`; back: assets returned by redeeming them.
    function mintRedeem(IERC4626 vault, uint256 shares) external returns (uint256 paid, uint256 back) {
        IERC20(vault.asset()).approve(address(vault), type(uint256).max);
        paid = vault.mint(shares, address(this));
        try vault.redeem(shares, address(this), address(this)) returns (uint256 assetsOut) {
            back = assetsOut;
        } catch {}
    }

    /// @return shares minted by `deposit(assets)`; burned: shares burned by withdrawing `assets` back
    ///         (type(uint256).max if that withdrawal reverts).
    function depositWithdraw(IERC4626 vault, uint256 assets) external returns (uint256 shares, uint256 burned) {
        IERC20(vault.asset()).approve(address(vault), assets);
        shares = vault.deposit(assets, address(this));
        try vault.withdraw(assets, address(this), address(this)) returns (uint256 sharesIn) {
            burned = sharesIn;
        } catch {
            burned = type(uint256).max;
        }
    }

    /// @notice `depositRedeem(assets)` then `mintRedeem(shares)` in one call, for invariant checks;
    ///         a leg whose entry reverts (paused, cap, oracle) reports zeros.
    function roundTrips(IERC4626 vault, uint256 assets, uint256 shares)
        external
        returns (uint256 depositBack, uint256 mintPaid, uint256 mintBack)
    {
        try this.depositRedeem(vault, assets) returns (uint256, uint256 back) {
            depositBack = back;
        } catch {}
        try this.mintRedeem(vault, shares) returns (uint256 paid, uint256 back) {
            (mintPaid, mintBack) = (paid, back);
        } catch {}
    }
}
