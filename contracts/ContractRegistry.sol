// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IContractRegistry} from "./interfaces/IContractRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {LedgerAccess} from "./LedgerAccess.sol";
import {AwardMath} from "./libraries/AwardMath.sol";
import {BeijingCalendar} from "./libraries/BeijingCalendar.sol";
import {ContractKind, MemberKind, MemberStatus, PaymentPlan} from "./libraries/LedgerTypes.sol";
import {BuyerTerms, PaymentTerms, SellerTerms} from "./libraries/PaymentTerms.sol";

/// @title ContractRegistry
/// @notice Technology contracts with their payment plans, milestones and royalty periods, and the
/// instruments shared under clause 15. Every payment it applies moves the bases the award rules read:
/// the contract's received amount and, for services, the clause-15 bases of buyer and seller for the
/// payment's Beijing year. Amounts are fen, dates unix seconds.
contract ContractRegistry is LedgerAccess, IContractRegistry {
    /// @notice Clause 15 shares instruments whose original value is at least 100,000.00 yuan (in fen).
    uint256 public constant MIN_SHARED_INSTRUMENT_VALUE = 10_000_000;
    /// @notice Sentinel milestone index: "the contract's only milestone".
    uint32 public constant MILESTONE_UNSPECIFIED = type(uint32).max;

    struct StoredContract {
        // slot 0
        address seller;
        ContractKind kind;
        PaymentPlan plan;
        uint16 royaltyBps;
        uint40 signedAt;
        // slot 1
        address buyer;
        uint32 milestoneCount;
        MemberKind sellerKind;
        bool buyerInRegion;
        // slot 2
        address broker;
        uint64 received;
        // slots 3-5
        bytes32 instrumentId;
        bytes32 termsHash;
        uint256 value;
    }

    struct StoredMilestone {
        uint48 due;
        uint48 paid;
        uint40 dueDate;
        bool achieved;
    }

    struct RoyaltyPeriod {
        bool reported;
        uint64 due;
        uint64 paid;
    }

    mapping(bytes32 contractId => StoredContract) private _contracts;
    mapping(bytes32 contractId => mapping(uint256 index => StoredMilestone)) private _milestones;
    mapping(bytes32 contractId => mapping(bytes32 period => RoyaltyPeriod)) private _royalties;
    mapping(bytes32 instrumentId => Instrument) private _instruments;
    /// @dev Clause 15 basis: service payments per (member, Beijing year, as provider or as user), in fen.
    mapping(bytes32 memberYearSide => uint256 fen) private _serviceYearBasis;
    address private _ledger;

    constructor(IMembership membership_) LedgerAccess(membership_) {}

    /// @notice Name the settlement ledger allowed to apply payments. Regulator only, once.
    function wireLedger(address ledger) external onlyRegulator {
        if (_ledger != address(0)) revert AlreadyWired();
        if (ledger == address(0)) revert WiredToZeroAddress();
        _ledger = ledger;
    }

    /// @inheritdoc IContractRegistry
    function registerInstrument(bytes32 instrumentId, address provider, uint256 originalValue)
        external
        onlyOperator
    {
        if (_instruments[instrumentId].provider != address(0)) revert InstrumentAlreadyRegistered(instrumentId);
        _requireActiveMember(provider);
        if (originalValue < MIN_SHARED_INSTRUMENT_VALUE) {
            revert InstrumentBelowSharingThreshold(instrumentId, originalValue, MIN_SHARED_INSTRUMENT_VALUE);
        }
        _instruments[instrumentId] = Instrument({provider: provider, originalValue: originalValue});
        emit InstrumentRegistered(instrumentId, provider, originalValue);
    }

    /// @inheritdoc IContractRegistry
    function registerContract(ContractInput calldata input) external onlyOperator {
        _register(input);
    }

    /// @inheritdoc IContractRegistry
    function registerContracts(ContractInput[] calldata inputs) external onlyOperator {
        uint256 count = inputs.length;
        for (uint256 i = 0; i < count; ++i) {
            _register(inputs[i]);
        }
    }

    function _register(ContractInput calldata input) private {
        bytes32 id = input.id;
        if (_contracts[id].seller != address(0)) revert ContractAlreadyRegistered(id);
        if (input.seller == input.buyer) revert SellerIsBuyer(id, input.seller);
        // A contract is registered once signed: a signing date ahead of the chain is mistyped.
        if (input.signedAt > block.timestamp) revert DatedInFuture(input.signedAt, block.timestamp);
        // A broker stands between the parties: a party as its own broker would earn clause 16 on its own deal.
        if (input.broker != address(0) && (input.broker == input.seller || input.broker == input.buyer)) {
            revert BrokerIsAParty(id, input.broker);
        }
        MemberKind sellerKind = _requireActiveMember(input.seller).kind;
        bool buyerInRegion = _requireActiveMember(input.buyer).inRegion;
        if (input.broker != address(0)) _requireActiveMember(input.broker);
        _checkInstrument(input);
        _checkPlan(input);

        uint256 count = input.milestones.length;
        uint256 value = 0;
        for (uint256 i = 0; i < count; ++i) {
            MilestoneInput calldata m = input.milestones[i];
            if (m.amount == 0) revert ZeroAmount();
            if (m.amount > type(uint48).max) revert AmountTooLarge(m.amount);
            value += m.amount;
            _milestones[id][i] = StoredMilestone({due: uint48(m.amount), paid: 0, dueDate: m.dueDate, achieved: false});
        }
        _contracts[id] = StoredContract({
            seller: input.seller,
            kind: input.kind,
            plan: input.plan,
            royaltyBps: input.royaltyBps,
            signedAt: input.signedAt,
            buyer: input.buyer,
            milestoneCount: uint32(count),
            sellerKind: sellerKind,
            buyerInRegion: buyerInRegion,
            broker: input.broker,
            received: 0,
            instrumentId: input.instrumentId,
            termsHash: input.termsHash,
            value: value
        });
        emit ContractRegistered(
            id,
            input.seller,
            input.buyer,
            input.kind,
            input.plan,
            input.broker,
            input.instrumentId,
            input.signedAt,
            value,
            input.royaltyBps,
            input.termsHash
        );
        for (uint256 i = 0; i < count; ++i) {
            MilestoneInput calldata m = input.milestones[i];
            emit MilestoneAdded(id, i, m.title, m.amount, m.dueDate);
        }
    }

    /// @inheritdoc IContractRegistry
    function achieveMilestone(bytes32 contractId, uint256 index, uint40 achievedAt) external onlyOperator {
        StoredContract storage c = _existing(contractId);
        if (index >= c.milestoneCount) revert UnknownMilestone(contractId, index);
        if (achievedAt < c.signedAt) revert DatedBeforeSigning(contractId, achievedAt, c.signedAt);
        if (achievedAt > block.timestamp) revert DatedInFuture(achievedAt, block.timestamp);
        StoredMilestone storage m = _milestones[contractId][index];
        if (m.achieved) revert MilestoneAlreadyAchieved(contractId, index);
        m.achieved = true;
        emit MilestoneAchieved(contractId, index, achievedAt);
    }

    /// @inheritdoc IContractRegistry
    function reportRevenue(bytes32 contractId, bytes32 period, uint256 revenue, uint40 reportedAt)
        external
        onlyOperator
    {
        StoredContract storage c = _existing(contractId);
        if (c.royaltyBps == 0) revert NoRoyaltyTerms(contractId);
        if (period == bytes32(0)) revert RoyaltyPeriodNotReported(contractId, period);
        if (reportedAt < c.signedAt) revert DatedBeforeSigning(contractId, reportedAt, c.signedAt);
        if (reportedAt > block.timestamp) revert DatedInFuture(reportedAt, block.timestamp);
        RoyaltyPeriod storage p = _royalties[contractId][period];
        if (p.reported) revert RoyaltyPeriodAlreadyReported(contractId, period);
        if (revenue > type(uint64).max) revert AmountTooLarge(revenue);
        uint256 due = (revenue * c.royaltyBps) / AwardMath.BPS_DENOMINATOR;
        p.reported = true;
        p.due = uint64(due);
        emit RevenueReported(contractId, period, revenue, due, reportedAt);
    }

    /// @inheritdoc IContractRegistry
    function applyPayment(bytes32 contractId, uint32 milestone, bytes32 period, uint256 amount, uint40 paidAt)
        external
        returns (
            SellerTerms seller,
            BuyerTerms buyer,
            address broker,
            uint256 buyerYearBefore,
            uint256 sellerYearBefore
        )
    {
        if (msg.sender != _ledger) revert CallerNotLedger(msg.sender);
        StoredContract storage c = _contracts[contractId];
        // Every field this payment needs is read before anything is written, so that each packed
        // slot is loaded once (a later read, after a write, would load it again).
        ContractKind kind = c.kind;
        PaymentPlan plan = c.plan;
        address sellerAccount = c.seller;
        address buyerAccount = c.buyer;
        uint64 receivedBefore = c.received;
        seller = PaymentTerms.packSeller(sellerAccount, kind, plan, c.sellerKind, c.buyerInRegion);
        buyer = PaymentTerms.packBuyer(buyerAccount, receivedBefore);
        broker = c.broker;
        if (sellerAccount == address(0)) revert UnknownContract(contractId);
        uint40 signedAt = c.signedAt;
        if (paidAt < signedAt) revert PaymentBeforeSigning(contractId, paidAt, signedAt);
        if (period == bytes32(0)) {
            _payMilestone(contractId, plan, c.milestoneCount, milestone, amount);
        } else {
            _payRoyalty(contractId, period, amount);
        }
        // Each payment is bounded by uint48 and at most 2^32 milestones exist, so uint64 holds the sum;
        // the checked addition still guards it.
        c.received = uint64(receivedBefore + amount);
        if (kind == ContractKind.Service) {
            uint16 year = BeijingCalendar.yearOf(paidAt);
            buyerYearBefore = _addServiceBasis(buyerAccount, year, false, amount);
            sellerYearBefore = _addServiceBasis(sellerAccount, year, true, amount);
        }
    }

    /// @inheritdoc IContractRegistry
    function contractOf(bytes32 contractId) external view returns (ContractView memory) {
        StoredContract storage c = _existing(contractId);
        return ContractView({
            kind: c.kind,
            plan: c.plan,
            royaltyBps: c.royaltyBps,
            signedAt: c.signedAt,
            seller: c.seller,
            buyer: c.buyer,
            broker: c.broker,
            instrumentId: c.instrumentId,
            termsHash: c.termsHash,
            value: c.value,
            received: c.received,
            milestoneCount: c.milestoneCount
        });
    }

    /// @inheritdoc IContractRegistry
    function milestoneOf(bytes32 contractId, uint256 index) external view returns (MilestoneView memory) {
        StoredContract storage c = _existing(contractId);
        if (index >= c.milestoneCount) revert UnknownMilestone(contractId, index);
        StoredMilestone storage m = _milestones[contractId][index];
        return MilestoneView({due: m.due, paid: m.paid, dueDate: m.dueDate, achieved: m.achieved});
    }

    /// @inheritdoc IContractRegistry
    function royaltyOf(bytes32 contractId, bytes32 period)
        external
        view
        returns (bool reported, uint256 due, uint256 paid)
    {
        RoyaltyPeriod storage p = _royalties[contractId][period];
        return (p.reported, p.due, p.paid);
    }

    /// @inheritdoc IContractRegistry
    function instrumentOf(bytes32 instrumentId) external view returns (Instrument memory) {
        Instrument memory instrument = _instruments[instrumentId];
        if (instrument.provider == address(0)) revert UnknownInstrument(instrumentId);
        return instrument;
    }

    function _payMilestone(
        bytes32 contractId,
        PaymentPlan plan,
        uint32 milestoneCount,
        uint32 milestone,
        uint256 amount
    ) private {
        uint256 index = milestone;
        if (milestone == MILESTONE_UNSPECIFIED) {
            if (milestoneCount != 1) revert MilestoneRequired(contractId, milestoneCount);
            index = 0;
        }
        if (index >= milestoneCount) revert UnknownMilestone(contractId, index);
        StoredMilestone storage m = _milestones[contractId][index];
        bool needsAchievement = plan == PaymentPlan.Staged || plan == PaymentPlan.ZeroUpfrontStagedRoyalty;
        if (needsAchievement && !m.achieved) revert MilestoneNotAchieved(contractId, index);
        uint256 outstanding = m.due - m.paid;
        if (amount > outstanding) revert AmountExceedsDue(contractId, index, amount, outstanding);
        // amount <= outstanding <= due, which fits in uint48.
        m.paid += uint48(amount);
    }

    /// @dev Adds a service payment to a member's clause-15 basis for the year; returns the basis before.
    function _addServiceBasis(address member, uint16 year, bool asProvider, uint256 amount)
        private
        returns (uint256 before)
    {
        bytes32 key = keccak256(abi.encode(member, year, asProvider));
        before = _serviceYearBasis[key];
        _serviceYearBasis[key] = before + amount;
    }

    function _payRoyalty(bytes32 contractId, bytes32 period, uint256 amount) private {
        RoyaltyPeriod storage p = _royalties[contractId][period];
        if (!p.reported) revert RoyaltyPeriodNotReported(contractId, period);
        uint256 outstanding = p.due - p.paid;
        if (amount > outstanding) revert RoyaltyExceedsDue(contractId, period, amount, outstanding);
        // amount <= outstanding <= due, which fits in uint64.
        p.paid += uint64(amount);
    }

    function _checkInstrument(ContractInput calldata input) private view {
        if (input.kind == ContractKind.Service) {
            if (input.instrumentId == bytes32(0)) revert ServiceNeedsInstrument(input.id);
            address provider = _instruments[input.instrumentId].provider;
            if (provider == address(0)) revert UnknownInstrument(input.instrumentId);
            if (provider != input.seller) revert SellerNotInstrumentProvider(input.id, input.seller, provider);
        } else if (input.instrumentId != bytes32(0)) {
            revert InstrumentOnlyForService(input.id);
        }
    }

    function _checkPlan(ContractInput calldata input) private pure {
        uint256 count = input.milestones.length;
        if (count == 0) revert NoMilestones(input.id);
        if (input.royaltyBps > AwardMath.BPS_DENOMINATOR) revert RateAboveHundredPercent("royalty", input.royaltyBps);
        if (input.royaltyBps != 0 && input.plan != PaymentPlan.ZeroUpfrontStagedRoyalty) {
            revert RoyaltyNotAllowed(input.id);
        }
        if (input.plan == PaymentPlan.ZeroUpfrontStagedRoyalty) {
            for (uint256 i = 0; i < count; ++i) {
                if (input.milestones[i].dueDate <= input.signedAt) revert ZeroUpfrontMilestoneAtSigning(input.id, i);
            }
        } else if (input.plan == PaymentPlan.Deferred && count != 1) {
            revert DeferredNeedsOneMilestone(input.id, count);
        }
    }

    function _existing(bytes32 contractId) private view returns (StoredContract storage c) {
        c = _contracts[contractId];
        if (c.seller == address(0)) revert UnknownContract(contractId);
    }

    function _requireActiveMember(address account) private view returns (IMembership.Profile memory profile) {
        profile = _membership.profileOf(account);
        if (profile.status == MemberStatus.None) revert NotAMember(account);
        if (profile.status == MemberStatus.Suspended) revert PartySuspended(account);
    }
}
