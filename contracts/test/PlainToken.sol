// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A plain OpenZeppelin ERC-20, for gas comparisons only (scripts/gas_benchmark.py).
/// @dev Note: anyone can mint and burn. Never deploy this outside a benchmark or test.
contract PlainToken is ERC20 {
    constructor() ERC20("Plain", "PLAIN") {}

    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @notice Mint `amount` to `to` (unrestricted: benchmark only).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Burn `amount` of the caller's tokens.
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
