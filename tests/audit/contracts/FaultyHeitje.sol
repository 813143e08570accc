// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.28;

/// @title FaultyHeitje: a deliberately broken stand-in for Heitje, for the auditor's tests only
/// @notice It emits exactly Heitje's events (same signatures, so the same topics), but every
/// function does what it is told and checks nothing: no roles, no merchants, no cap, no
/// allowance, no pause, no unique job ids. A test can so write any ledger, including one that
/// breaks each rule of the scheme, and assert that the auditor names the offending records.
/// `ghostMint` even changes a balance and the supply without any event. NEVER deploy it.
contract FaultyHeitje {
    mapping(address account => uint256) public balanceOf;
    uint256 public totalSupply;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event JobRewarded(bytes32 indexed jobId, address indexed resident, address indexed minter, uint256 amount);
    event MerchantAdded(address indexed merchant);
    event MerchantRemoved(address indexed merchant);
    event Payment(address indexed from, address indexed merchant, uint256 amount, bytes32 receipt);
    event Refund(address indexed merchant, address indexed to, uint256 amount, bytes32 receipt);
    event RedemptionRequested(uint256 indexed id, address indexed merchant, uint256 amount);
    event RedemptionPaid(uint256 indexed id, bytes32 paymentReference);
    event WalletRecovered(address indexed lost, address indexed replacement, uint256 amount);
    event EarningsCarried(address indexed lost, address indexed replacement, uint256 indexed year, uint256 amount);
    event YearlyCapSet(uint256 cap);
    event MintAllowanceSet(address indexed minter, uint256 allowance);
    event Paused(address account);
    event Unpaused(address account);
    event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender);
    event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender);

    /// Like Heitje's constructor: the deployer becomes the default admin; the cap is EUR 1,500.
    constructor() {
        emit RoleGranted(bytes32(0), msg.sender, msg.sender);
        emit YearlyCapSet(150_000);
    }

    // ---------------------------------------------------------------- raw token movements

    function mint(address to, uint256 amount) public {
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function move(address from, address to, uint256 amount) public {
        unchecked {
            balanceOf[from] -= amount; // may wrap: a faulty token lets an account overspend
        }
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }

    function burn(address from, uint256 amount) public {
        balanceOf[from] -= amount;
        totalSupply -= amount;
        emit Transfer(from, address(0), amount);
    }

    /// A balance and the supply change with no event at all.
    function ghostMint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
    }

    // ---------------------------------------------------------------- Heitje's operations, unchecked

    function reward(bytes32 jobId, address resident, address minter, uint256 amount) external {
        mint(resident, amount);
        emit JobRewarded(jobId, resident, minter, amount);
    }

    /// A JobRewarded with no Heitjes minted behind it.
    function announceReward(bytes32 jobId, address resident, address minter, uint256 amount) external {
        emit JobRewarded(jobId, resident, minter, amount);
    }

    function pay(address from, address merchant, uint256 amount, bytes32 receipt) external {
        move(from, merchant, amount);
        emit Payment(from, merchant, amount, receipt);
    }

    function refund(address merchant, address to, uint256 amount, bytes32 receipt) external {
        move(merchant, to, amount);
        emit Refund(merchant, to, amount, receipt);
    }

    function redeem(uint256 id, address merchant, uint256 amount) external {
        burn(merchant, amount);
        emit RedemptionRequested(id, merchant, amount);
    }

    function confirmPayout(uint256 id, bytes32 paymentReference) external {
        emit RedemptionPaid(id, paymentReference);
    }

    function recover(address lost, address replacement, uint256 year, uint256 carried) external {
        uint256 amount = balanceOf[lost];
        move(lost, replacement, amount);
        emit WalletRecovered(lost, replacement, amount);
        if (carried != 0) emit EarningsCarried(lost, replacement, year, carried);
    }

    function addMerchant(address merchant) external {
        emit MerchantAdded(merchant);
    }

    function removeMerchant(address merchant) external {
        emit MerchantRemoved(merchant);
    }

    function setMintAllowance(address minter, uint256 allowance) external {
        emit MintAllowanceSet(minter, allowance);
    }

    function setYearlyCap(uint256 cap) external {
        emit YearlyCapSet(cap);
    }

    function grantRole(bytes32 role, address account) external {
        emit RoleGranted(role, account, msg.sender);
    }

    function revokeRole(bytes32 role, address account) external {
        emit RoleRevoked(role, account, msg.sender);
    }

    function pause() external {
        emit Paused(msg.sender);
    }

    function unpause() external {
        emit Unpaused(msg.sender);
    }
}
