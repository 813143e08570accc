// SPDX-License-Identifier: EUPL-1.2
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Heitje, a municipal community currency
/// @notice An ERC-20 token of one municipality (for example "Heerlens Heitje"), in cents:
/// 2 decimals, 1 Heitje = EUR 1.00. Residents earn Heitjes only as the reward for an approved
/// neighbourhood job, spend them only at whitelisted local merchants, and merchants redeem them
/// with the municipality for euros. Every unit in circulation traces to exactly one job id.
/// @dev Note: what this contract deliberately does NOT check, and the invariants it keeps.
///  - It stores no personal data: addresses, hashed job ids and bank-reference hashes only.
///    Whether a job was really done is decided off-chain by an inspector; the minter key that
///    calls `rewardJob` is trusted up to its mint allowance (its budget), and no further.
///  - `transferFrom` applies the same rules to `from` and `to` as `transfer`. Of the spender
///    (`msg.sender`) only this is looked at, beyond the ERC-20 allowance: a retired wallet or a
///    former merchant can no longer move anyone's Heitjes through an allowance it was given
///    (`HeitjeSpenderRetired`, `HeitjeSpenderFormerMerchant`); a resident or a current merchant
///    can. A retired `from` is refused as for `transfer` (`HeitjeWalletRetired`).
///  - Zero-amount transfers are refused (`HeitjeInvalidAmount(0)`), as a zero `pay` is; see
///    `_update`. Everything else a wallet relies on is plain ERC-20: `name`, `symbol`,
///    `decimals` (2), `balanceOf`, `totalSupply`, `transfer` to a merchant (a payment without a
///    receipt), `approve` (zero too, to withdraw an allowance), `allowance`, `transferFrom`.
///  - Invariants, which any override of `_update` must keep:
///    (1) totalSupply == sum of balances == sum of rewards - sum of redemptions;
///    (2) a job id is rewarded at most once, ever; every mint is a `JobRewarded`;
///    (3) no resident earns more than the yearly cap in a calendar year (UTC), recoveries included;
///    (4) tokens move only resident -> current merchant (payment) or merchant -> resident (refund),
///        apart from a wallet recovery; burns happen only as a merchant's redemption.
///  - Pause stops rewards, payments, refunds and redemptions. It does not stop role
///    administration, merchant management, payout confirmation or wallet recovery, so the
///    municipality can still repair things (e.g. move funds off a compromised wallet) while paused.
contract Heitje is ERC20, AccessControlDefaultAdminRules {
    // ------------------------------------------------------------------ roles

    /// @notice Job issuers (municipality job office, partner organisations), each with a budget.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// @notice Adds and removes merchants from the whitelist.
    bytes32 public constant MERCHANT_MANAGER_ROLE = keccak256("MERCHANT_MANAGER_ROLE");
    /// @notice Records euro payouts of redemptions.
    bytes32 public constant TREASURER_ROLE = keccak256("TREASURER_ROLE");
    /// @notice Pauses and unpauses rewards, payments and redemptions.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Moves a lost resident wallet to a replacement.
    bytes32 public constant RECOVERY_ROLE = keccak256("RECOVERY_ROLE");

    /// @notice The yearly earnings cap a new deployment starts with: EUR 1,500.00 (in cents).
    uint256 public constant DEFAULT_YEARLY_CAP = 1_500_00;

    // ------------------------------------------------------------------ state

    /// Account status, one byte per address, read once per transfer side.
    uint8 private constant _RESIDENT = 0; // any address never listed: residents
    uint8 private constant _MERCHANT = 1; // whitelisted merchant
    uint8 private constant _FORMER_MERCHANT = 2; // removed: may refund and redeem, not receive
    uint8 private constant _RETIRED = 3; // a lost resident wallet, moved by recovery

    /// One slot per address: its status and its earnings in the year it last earned. Earlier
    /// years move to `_pastEarnings` when a new year's first reward comes in. One storage read
    /// gives a reward both the recipient's status and its earnings so far.
    struct Account {
        uint8 status;
        uint64 year; // the calendar year `earned` belongs to
        uint128 earned; // cents; <= the yearly cap, which is < 2**128
    }

    struct Redemption {
        address merchant; // 160 bits
        uint88 amount; // 88 bits: cents, far above any supply a municipality can mint
        bool paid; // 8 bits: one slot in all
    }

    mapping(bytes32 jobId => bool) private _rewarded;
    mapping(address minter => uint256) private _mintAllowances;
    mapping(address account => Account) private _accounts;
    mapping(address resident => mapping(uint256 year => uint256)) private _pastEarnings;
    mapping(uint256 id => Redemption) private _redemptions;
    mapping(uint256 id => bytes32) private _payoutReferences;
    // One slot, read once by a reward (pause + cap) and by a redemption (pause + counter).
    uint128 private _yearlyCap;
    uint64 private _redemptionCount;
    bool private _paused;

    // ------------------------------------------------------------------ events

    /// @notice A job was rewarded: `amount` cents minted to `resident` by `minter`.
    event JobRewarded(bytes32 indexed jobId, address indexed resident, address indexed minter, uint256 amount);
    /// @notice `merchant` was put on the whitelist.
    event MerchantAdded(address indexed merchant);
    /// @notice `merchant` was taken off the whitelist (it can still refund and redeem).
    event MerchantRemoved(address indexed merchant);
    /// @notice A resident paid a merchant through `pay`, with a receipt reference.
    event Payment(address indexed from, address indexed merchant, uint256 amount, bytes32 receipt);
    /// @notice A merchant refunded a resident through `refund`, with a reference.
    event Refund(address indexed merchant, address indexed to, uint256 amount, bytes32 receipt);
    /// @notice A merchant burned `amount` cents for a euro payout, numbered `id`.
    event RedemptionRequested(uint256 indexed id, address indexed merchant, uint256 amount);
    /// @notice The euro payout of redemption `id` was made, with the bank's reference.
    event RedemptionPaid(uint256 indexed id, bytes32 paymentReference);
    /// @notice The balance of lost wallet `lost` (`amount` cents) moved to `replacement`.
    event WalletRecovered(address indexed lost, address indexed replacement, uint256 amount);
    /// @notice Earnings of `year` moved with a wallet recovery, so the cap cannot be reset.
    event EarningsCarried(address indexed lost, address indexed replacement, uint256 indexed year, uint256 amount);
    /// @notice The yearly earnings cap per resident was set to `cap` cents.
    event YearlyCapSet(uint256 cap);
    /// @notice The remaining mint allowance (budget) of `minter` was set to `allowance` cents.
    event MintAllowanceSet(address indexed minter, uint256 allowance);
    /// @notice `account` paused rewards, payments, refunds and redemptions.
    event Paused(address account);
    /// @notice `account` lifted the pause.
    event Unpaused(address account);

    // ------------------------------------------------------------------ errors

    /// @notice `account` is not a current merchant, where one is needed.
    error HeitjeNotMerchant(address account);
    /// @notice `account` is (or was) a merchant, where a resident is needed.
    error HeitjeNotResident(address account);
    /// @notice Merchants do not pay each other.
    error HeitjeMerchantToMerchant(address from, address to);
    /// @notice `account` is already a merchant.
    error HeitjeAlreadyMerchant(address account);
    /// @notice `account` holds resident Heitjes (`balance` cents) and cannot become a merchant.
    error HeitjeResidentBalance(address account, uint256 balance);
    /// @notice `account` is a lost wallet that was recovered; it can no longer be used.
    error HeitjeWalletRetired(address account);
    /// @notice `jobId` has been rewarded before.
    error HeitjeJobAlreadyRewarded(bytes32 jobId);
    /// @notice A job id of zero is not a job.
    error HeitjeInvalidJobId(bytes32 jobId);
    /// @notice The amount must be more than zero (and a cap below 2**128).
    error HeitjeInvalidAmount(uint256 amount);
    /// @notice The operation is stopped while the token is paused.
    error EnforcedPause();
    /// @notice The token is not paused.
    error ExpectedPause();
    /// @notice A reward of `needed` cents is more than the `allowance` left to `minter`.
    error HeitjeMintAllowanceExceeded(address minter, uint256 allowance, uint256 needed);
    /// @notice `resident` earned `earned` cents this year; `amount` more would pass `cap`.
    error HeitjeYearlyCapExceeded(address resident, uint256 earned, uint256 amount, uint256 cap);
    /// @notice The batch arrays differ in length.
    error HeitjeLengthMismatch(uint256 jobIds, uint256 residents, uint256 amounts);
    /// @notice An empty batch.
    error HeitjeEmptyBatch();
    /// @notice No redemption has number `id`.
    error HeitjeUnknownRedemption(uint256 id);
    /// @notice Redemption `id` was already paid out, with `paymentReference`.
    error HeitjeRedemptionAlreadyPaid(uint256 id, bytes32 paymentReference);
    /// @notice A payout needs the bank's reference.
    error HeitjeInvalidReference();
    /// @notice The replacement wallet is in use (`balance` cents, `earned` cents this year).
    error HeitjeReplacementInUse(address replacement, uint256 balance, uint256 earned);
    /// @notice A wallet cannot replace itself, and the zero address replaces nothing.
    error HeitjeInvalidReplacement(address replacement);
    /// @notice `spender` is a lost wallet that was recovered; it can no longer move `owner`'s
    /// Heitjes through the allowance `owner` gave it.
    error HeitjeSpenderRetired(address spender, address owner);
    /// @notice `spender` was a merchant and has been removed; it can no longer move `owner`'s
    /// Heitjes through the allowance `owner` gave it.
    error HeitjeSpenderFormerMerchant(address spender, address owner);

    // ------------------------------------------------------------------ construction

    /// @param name_ The token name, per municipality, e.g. "Heerlens Heitje".
    /// @param symbol_ The symbol, e.g. "HEITJE".
    /// @param adminDelay Seconds a default-admin handover must wait before it can be accepted.
    /// @param admin The first default admin, who grants every other role.
    constructor(string memory name_, string memory symbol_, uint48 adminDelay, address admin)
        ERC20(name_, symbol_)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        _yearlyCap = uint128(DEFAULT_YEARLY_CAP);
        emit YearlyCapSet(DEFAULT_YEARLY_CAP);
    }

    /// @notice Heitjes count in cents.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    // ------------------------------------------------------------------ rewards

    /// @notice Mint the reward for an approved job to the resident who did it.
    /// @dev Requirements: caller has MINTER_ROLE and an allowance of at least `amount`; `jobId` is
    /// not zero and was never rewarded; `resident` is a resident (not a merchant, not retired);
    /// `amount` > 0 and within the resident's room under the yearly cap; not paused.
    /// Emits `JobRewarded` and `Transfer(0, resident, amount)`.
    function rewardJob(bytes32 jobId, address resident, uint256 amount) external onlyRole(MINTER_ROLE) {
        uint256 budget = _mintAllowances[msg.sender];
        if (amount > budget) revert HeitjeMintAllowanceExceeded(msg.sender, budget, amount);
        unchecked {
            _mintAllowances[msg.sender] = budget - amount;
        }
        _reward(jobId, resident, amount, _currentYear(), _yearlyCap);
    }

    /// @notice Reward many approved jobs in one transaction, all or nothing.
    /// @dev Requirements: as `rewardJob` for every entry, with the allowance covering the sum;
    /// the three arrays have the same, non-zero length. A job id repeated inside the batch reverts
    /// as already rewarded. Emits `JobRewarded` and `Transfer` for every entry.
    function rewardJobs(bytes32[] calldata jobIds, address[] calldata residents, uint256[] calldata amounts)
        external
        onlyRole(MINTER_ROLE)
    {
        uint256 n = jobIds.length;
        if (n != residents.length || n != amounts.length) {
            revert HeitjeLengthMismatch(n, residents.length, amounts.length);
        }
        if (n == 0) revert HeitjeEmptyBatch();
        uint256 budget = _mintAllowances[msg.sender];
        uint256 year = _currentYear();
        uint256 cap = _yearlyCap;
        for (uint256 i; i < n; ++i) {
            uint256 amount = amounts[i];
            if (amount > budget) revert HeitjeMintAllowanceExceeded(msg.sender, budget, amount);
            unchecked {
                budget -= amount;
            }
            _reward(jobIds[i], residents[i], amount, year, cap);
        }
        _mintAllowances[msg.sender] = budget;
    }

    function _reward(bytes32 jobId, address resident, uint256 amount, uint256 year, uint256 cap) private {
        if (jobId == bytes32(0)) revert HeitjeInvalidJobId(jobId);
        if (amount == 0) revert HeitjeInvalidAmount(amount);
        if (_rewarded[jobId]) revert HeitjeJobAlreadyRewarded(jobId);
        Account storage account = _accounts[resident];
        uint256 earned = _earnedIn(account, year);
        // Written so that it cannot overflow, and holds when the cap was lowered below `earned`.
        if (earned > cap || amount > cap - earned) revert HeitjeYearlyCapExceeded(resident, earned, amount, cap);
        _rewarded[jobId] = true;
        unchecked {
            _setEarnings(account, resident, year, earned + amount); // <= cap < 2**128
        }
        _mint(resident, amount); // `_update` checks pause and that `resident` is a resident
        emit JobRewarded(jobId, resident, msg.sender, amount);
    }

    /// @notice Whether `jobId` has been rewarded.
    function isRewarded(bytes32 jobId) external view returns (bool) {
        return _rewarded[jobId];
    }

    /// @notice Set the remaining mint allowance (the budget, in cents) of `minter`.
    /// @dev Requirements: caller is the default admin. The value replaces the old one; it is not
    /// added to it, so a budget can be lowered or withdrawn. Emits `MintAllowanceSet`.
    function setMintAllowance(address minter, uint256 budget) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _mintAllowances[minter] = budget;
        emit MintAllowanceSet(minter, budget);
    }

    /// @notice The mint allowance (budget, in cents) left to `minter`.
    function mintAllowance(address minter) external view returns (uint256) {
        return _mintAllowances[minter];
    }

    // ------------------------------------------------------------------ yearly cap

    /// @notice Set the yearly earnings cap per resident, in cents.
    /// @dev Requirements: caller is the default admin; 0 < `cap` < 2**128. Residents who already earned
    /// more this year keep what they have and cannot earn more. Emits `YearlyCapSet`.
    function setYearlyCap(uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (cap == 0 || cap > type(uint128).max) revert HeitjeInvalidAmount(cap);
        _yearlyCap = uint128(cap);
        emit YearlyCapSet(cap);
    }

    /// @notice The yearly earnings cap per resident, in cents.
    function yearlyCap() external view returns (uint256) {
        return _yearlyCap;
    }

    /// @notice What `resident` earned (in cents) in calendar `year` (UTC).
    /// @dev For a recovered (retired) wallet: the years before its recovery year read as they
    /// were. Its recovery year's earnings moved with the recovery: they read as 0 here and are
    /// part of the replacement's figure for that year, where the cap counts them (the amount is
    /// in the recovery's `EarningsCarried`). So the figures of all wallets add up to what was
    /// rewarded, each cent counted once, and a person's figure for a year is that of the wallet
    /// they hold.
    function earnedIn(address resident, uint256 year) external view returns (uint256) {
        Account storage account = _accounts[resident];
        return account.year == year ? account.earned : _pastEarnings[resident][year];
    }

    /// @dev What `account` earned in `year`, for the current year only: earlier years are
    /// never asked by a reward or a recovery.
    function _earnedIn(Account storage account, uint256 year) private view returns (uint256) {
        return account.year == year ? account.earned : 0;
    }

    /// @dev Set `who`'s earnings of `year` (the current year) to `amount`, moving the earnings
    /// of an earlier year it holds to `_pastEarnings` first.
    function _setEarnings(Account storage account, address who, uint256 year, uint256 amount) private {
        uint256 heldYear = account.year;
        if (heldYear != year) {
            uint256 held = account.earned;
            if (held != 0) _pastEarnings[who][heldYear] = held;
            account.year = uint64(year);
        }
        account.earned = uint128(amount);
    }

    /// @notice The calendar year (UTC) of the current block.
    function currentYear() external view returns (uint256) {
        return _currentYear();
    }

    /// @notice The calendar year (UTC) of a unix `timestamp`.
    function yearOf(uint256 timestamp) external pure returns (uint256) {
        return _yearOf(timestamp);
    }

    function _currentYear() private view returns (uint256) {
        return _yearOf(block.timestamp);
    }

    /// @dev Howard Hinnant's days-to-civil algorithm (proleptic Gregorian, exact for every
    /// timestamp), reduced to the year.
    function _yearOf(uint256 timestamp) private pure returns (uint256) {
        unchecked {
            uint256 z = timestamp / 86400 + 719468;
            uint256 era = z / 146097;
            uint256 doe = z - era * 146097;
            uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            uint256 mp = (5 * doy + 2) / 153; // March = 0
            return yoe + era * 400 + (mp >= 10 ? 1 : 0); // January and February count to the next year
        }
    }

    // ------------------------------------------------------------------ merchants

    /// @notice Put `merchant` on the whitelist, so residents can pay it.
    /// @dev Requirements: caller has MERCHANT_MANAGER_ROLE; `merchant` is not the zero address,
    /// not a current merchant, not a retired wallet, and (if it was never a merchant) holds no
    /// resident Heitjes. A former merchant can be added again. Emits `MerchantAdded`.
    ///
    /// "Resident Heitjes" are Heitjes of a wallet that was ever rewarded or ever replaced a
    /// lost wallet (`_hasEarned`): those are refused (`HeitjeResidentBalance`), so a resident
    /// cannot turn earnings into redeemable merchant funds. A wallet that was never rewarded
    /// and never a replacement can only have received Heitjes as refunds (a merchant to a
    /// resident): merchant funds already, which its listing does not make more redeemable than
    /// they were. Such a candidate is listed whatever it holds, so no merchant can block a
    /// shop's onboarding by refunding dust to its new wallet. (A minter could still block it by
    /// rewarding the candidate; that spends a job id and its budget, in a `JobRewarded` that
    /// names it.)
    function addMerchant(address merchant) external onlyRole(MERCHANT_MANAGER_ROLE) {
        if (merchant == address(0)) revert ERC20InvalidReceiver(merchant);
        Account storage account = _accounts[merchant];
        uint8 status = account.status;
        if (status == _MERCHANT) revert HeitjeAlreadyMerchant(merchant);
        if (status == _RETIRED) revert HeitjeWalletRetired(merchant);
        if (status == _RESIDENT && _hasEarned(account)) {
            uint256 balance = balanceOf(merchant);
            if (balance != 0) revert HeitjeResidentBalance(merchant, balance);
        }
        account.status = _MERCHANT;
        emit MerchantAdded(merchant);
    }

    /// @dev Whether `account` was ever rewarded or ever replaced a lost wallet: the first
    /// reward sets its earnings year (never 0: every block is after 1970), and a recovery sets
    /// the replacement's (`recoverWallet`). A resident for which this is false holds only
    /// Heitjes that came as refunds.
    function _hasEarned(Account storage account) private view returns (bool) {
        return account.year != 0;
    }

    /// @notice Take `merchant` off the whitelist. It can no longer receive payments, but it can
    /// still refund residents and redeem what it holds: its funds are never trapped.
    /// @dev Requirements: caller has MERCHANT_MANAGER_ROLE; `merchant` is a current merchant.
    /// Emits `MerchantRemoved`.
    function removeMerchant(address merchant) external onlyRole(MERCHANT_MANAGER_ROLE) {
        if (_accounts[merchant].status != _MERCHANT) revert HeitjeNotMerchant(merchant);
        _accounts[merchant].status = _FORMER_MERCHANT;
        emit MerchantRemoved(merchant);
    }

    /// @notice Whether `account` is a current (whitelisted) merchant.
    function isMerchant(address account) external view returns (bool) {
        return _accounts[account].status == _MERCHANT;
    }

    /// @notice Whether `account` was a merchant and has been removed.
    function isFormerMerchant(address account) external view returns (bool) {
        return _accounts[account].status == _FORMER_MERCHANT;
    }

    /// @notice Whether `account` is a lost wallet that was recovered to a replacement.
    function isRetired(address account) external view returns (bool) {
        return _accounts[account].status == _RETIRED;
    }

    // ------------------------------------------------------------------ payments

    /// @notice Pay `merchant` `amount` cents, with a `receipt` reference (order or receipt number,
    /// or its hash).
    /// @dev Requirements: caller is a resident; `merchant` is a current merchant; `amount` > 0;
    /// not paused. Emits `Transfer` and `Payment`.
    function pay(address merchant, uint256 amount, bytes32 receipt) external {
        if (_accounts[merchant].status != _MERCHANT) revert HeitjeNotMerchant(merchant);
        if (amount == 0) revert HeitjeInvalidAmount(amount);
        _transfer(msg.sender, merchant, amount);
        emit Payment(msg.sender, merchant, amount, receipt);
    }

    /// @notice Refund `amount` cents to resident `to`, with a `receipt` reference (e.g. the original receipt).
    /// @dev Requirements: caller is a current or former merchant; `to` is a resident; `amount` > 0;
    /// not paused. Emits `Transfer` and `Refund`.
    function refund(address to, uint256 amount, bytes32 receipt) external {
        uint8 status = _accounts[msg.sender].status;
        if (status != _MERCHANT && status != _FORMER_MERCHANT) revert HeitjeNotMerchant(msg.sender);
        if (amount == 0) revert HeitjeInvalidAmount(amount);
        _transfer(msg.sender, to, amount);
        emit Refund(msg.sender, to, amount, receipt);
    }

    /// @dev The single place where transfer policy lives: every mint, burn and transfer passes
    /// here (pause -> policy -> balances). Wallet recovery bypasses it on purpose (see
    /// `recoverWallet`).
    ///
    /// Between two accounts (`transfer`, `transferFrom`, `pay`, `refund`), in this order:
    /// a retired `from` is refused; a spender (`msg.sender` other than `from`: only
    /// `transferFrom` has one) that is a retired wallet or a former merchant is refused; a
    /// resident pays only a current merchant, a (former) merchant refunds only a resident; and
    /// the amount must be more than zero.
    ///
    /// Zero amounts depart from plain ERC-20 on purpose: EIP-20 says a transfer of 0 must be
    /// treated as a normal transfer, but here every `Transfer` to a merchant is a payment that
    /// the till, the shop's lists and the audit count. A zero "payment" is no payment, and
    /// `transferFrom(x, merchant, 0)` needs no allowance at all, so anyone could otherwise put
    /// zero payments "from" any resident into the event stream (the address-poisoning trick
    /// that fills wallet histories with fake entries). `pay` and `refund` refuse zero already;
    /// so do these. Wallets do not send zero transfers; approving zero (withdrawing an
    /// allowance) still works.
    function _update(address from, address to, uint256 value) internal override {
        if (_paused) revert EnforcedPause();
        if (from == address(0)) {
            // Mint: only `_reward` mints, and only to residents.
            uint8 toStatus = _accounts[to].status;
            if (toStatus == _RETIRED) revert HeitjeWalletRetired(to);
            if (toStatus != _RESIDENT) revert HeitjeNotResident(to);
        } else if (to == address(0)) {
            // Burn: only `redeem` burns, by a current or former merchant.
            uint8 fromStatus = _accounts[from].status;
            if (fromStatus != _MERCHANT && fromStatus != _FORMER_MERCHANT) revert HeitjeNotMerchant(from);
        } else {
            uint8 fromStatus = _accounts[from].status;
            uint8 toStatus = _accounts[to].status;
            if (fromStatus == _RETIRED) revert HeitjeWalletRetired(from);
            address spender = _msgSender();
            if (spender != from) {
                // `transferFrom` by someone else than the owner: no longer by a closed account.
                uint8 spenderStatus = _accounts[spender].status;
                if (spenderStatus == _RETIRED) revert HeitjeSpenderRetired(spender, from);
                if (spenderStatus == _FORMER_MERCHANT) revert HeitjeSpenderFormerMerchant(spender, from);
            }
            if (fromStatus == _RESIDENT) {
                // A payment: residents pay only current merchants.
                if (toStatus != _MERCHANT) revert HeitjeNotMerchant(to);
            } else {
                // A refund: (former) merchants pay back only residents.
                if (toStatus == _RETIRED) revert HeitjeWalletRetired(to);
                if (toStatus != _RESIDENT) revert HeitjeMerchantToMerchant(from, to);
            }
            if (value == 0) revert HeitjeInvalidAmount(value);
        }
        super._update(from, to, value);
    }

    // ------------------------------------------------------------------ redemption

    /// @notice Burn `amount` cents of the caller's Heitjes for a euro payout by the municipality.
    /// Removed merchants can redeem too: their funds are never trapped.
    /// @dev Requirements: caller is a current or former merchant with at least `amount`;
    /// `amount` > 0; not paused. Emits `Transfer(merchant, 0, amount)` and `RedemptionRequested`.
    /// @return id The redemption's number: 1, 2, 3, ...
    function redeem(uint256 amount) external returns (uint256 id) {
        if (amount == 0) revert HeitjeInvalidAmount(amount);
        _burn(msg.sender, amount); // `_update` checks pause and that the caller is a merchant
        unchecked {
            id = ++_redemptionCount; // 2**64 redemptions will not happen
        }
        _redemptions[id] = Redemption(msg.sender, SafeCast.toUint88(amount), false);
        emit RedemptionRequested(id, msg.sender, amount);
    }

    /// @notice Record that redemption `id` was paid out in euros, with the bank's reference.
    /// @dev Requirements: caller has TREASURER_ROLE; `id` exists and is unpaid; the reference is
    /// not zero. Allowed while paused (it records a bank transfer that happened). Emits
    /// `RedemptionPaid`.
    function confirmPayout(uint256 id, bytes32 paymentReference) external onlyRole(TREASURER_ROLE) {
        Redemption storage r = _redemptions[id];
        if (r.merchant == address(0)) revert HeitjeUnknownRedemption(id);
        if (r.paid) revert HeitjeRedemptionAlreadyPaid(id, _payoutReferences[id]);
        if (paymentReference == bytes32(0)) revert HeitjeInvalidReference();
        r.paid = true;
        _payoutReferences[id] = paymentReference;
        emit RedemptionPaid(id, paymentReference);
    }

    /// @notice Redemption `id`: who redeemed, how many cents, whether it was paid out and with
    /// which bank reference.
    function redemption(uint256 id)
        external
        view
        returns (address merchant, uint256 amount, bool paid, bytes32 paymentReference)
    {
        Redemption storage r = _redemptions[id];
        if (r.merchant == address(0)) revert HeitjeUnknownRedemption(id);
        return (r.merchant, r.amount, r.paid, _payoutReferences[id]);
    }

    /// @notice How many redemptions there have been; ids run from 1 to this number.
    function redemptionCount() external view returns (uint256) {
        return _redemptionCount;
    }

    // ------------------------------------------------------------------ recovery

    /// @notice Move the balance and this year's earnings of a resident's lost wallet to a
    /// replacement wallet. The lost wallet is retired: it can never receive or send again, nor
    /// move anyone's Heitjes through an allowance. This year's earnings move (see `earnedIn`);
    /// those of earlier years stay readable on the lost wallet.
    /// @dev Requirements: caller has RECOVERY_ROLE; `lost` is a resident wallet (not the zero
    /// address, not a merchant, not retired); `replacement` is a different, unused resident wallet (no balance, nothing
    /// earned this year). Works while paused, so funds can be moved off a compromised wallet.
    /// Emits `Transfer(lost, replacement, amount)`, `WalletRecovered` and, when there were
    /// earnings this year, `EarningsCarried`.
    function recoverWallet(address lost, address replacement) external onlyRole(RECOVERY_ROLE) {
        if (lost == address(0)) revert ERC20InvalidSender(lost);
        Account storage lostAccount = _accounts[lost];
        uint8 lostStatus = lostAccount.status;
        if (lostStatus == _RETIRED) revert HeitjeWalletRetired(lost);
        if (lostStatus != _RESIDENT) revert HeitjeNotResident(lost);
        if (replacement == address(0) || replacement == lost) revert HeitjeInvalidReplacement(replacement);
        Account storage replacementAccount = _accounts[replacement];
        uint8 replacementStatus = replacementAccount.status;
        if (replacementStatus == _RETIRED) revert HeitjeWalletRetired(replacement);
        if (replacementStatus != _RESIDENT) revert HeitjeNotResident(replacement);
        uint256 year = _currentYear();
        uint256 replacementBalance = balanceOf(replacement);
        uint256 replacementEarned = _earnedIn(replacementAccount, year);
        if (replacementBalance != 0 || replacementEarned != 0) {
            revert HeitjeReplacementInUse(replacement, replacementBalance, replacementEarned);
        }

        lostAccount.status = _RETIRED;
        uint256 amount = balanceOf(lost);
        // Straight to ERC20's bookkeeping: this is the one move between two residents, and it
        // is allowed while paused.
        ERC20._update(lost, replacement, amount);
        emit WalletRecovered(lost, replacement, amount);

        // Always written, also with nothing to carry: it marks the replacement as holding a
        // resident's Heitjes (`_hasEarned`), so they can never be listed as merchant funds.
        uint256 earned = _earnedIn(lostAccount, year);
        _setEarnings(replacementAccount, replacement, year, earned);
        if (earned != 0) {
            lostAccount.earned = 0;
            emit EarningsCarried(lost, replacement, year, earned);
        }
    }

    // ------------------------------------------------------------------ pause

    /// @notice Stop rewards, payments, refunds and redemptions.
    /// @dev Requirements: caller has PAUSER_ROLE; not paused. Emits `Paused`.
    function pause() external onlyRole(PAUSER_ROLE) {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Resume rewards, payments, refunds and redemptions.
    /// @dev Requirements: caller has PAUSER_ROLE; paused. Emits `Unpaused`.
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @notice Whether rewards, payments, refunds and redemptions are stopped.
    function paused() external view returns (bool) {
        return _paused;
    }
}
