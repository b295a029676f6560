// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IContractRegistry} from "./interfaces/IContractRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IPoints} from "./interfaces/IPoints.sol";
import {IPolicyRegistry, IRecordClock} from "./interfaces/IPolicyRegistry.sol";
import {ISettlementLedger} from "./interfaces/ISettlementLedger.sol";
import {LedgerAccess} from "./LedgerAccess.sol";
import {AwardMath} from "./libraries/AwardMath.sol";
import {BeijingCalendar} from "./libraries/BeijingCalendar.sol";
import {
    AppointmentTitle,
    ContractKind,
    MemberKind,
    MemberStatus,
    PaymentPlan,
    RuleParams,
    Settlement
} from "./libraries/LedgerTypes.sol";
import {BuyerTerms, PaymentTerms, SellerTerms} from "./libraries/PaymentTerms.sol";
import {RuleIds} from "./libraries/RuleIds.sol";

/// @title SettlementLedger
/// @notice Records settlements and attestations exactly once and issues the points they earn,
/// reading the policy version in force on the fact's date.
contract SettlementLedger is LedgerAccess, ISettlementLedger, IRecordClock {
    using PaymentTerms for SellerTerms;
    using PaymentTerms for BuyerTerms;

    IContractRegistry private immutable _registry;
    IPolicyRegistry private immutable _policy;
    IPoints private immutable _points;

    /// @dev A memo of what the policy registry answered for one rate rule on one date, in one word:
    /// the date (bits 0-39), the rate (40-55), the threshold (56-103) and the version (104-127) of the
    /// version in force, whether it applies (in force, the date inside its window) and whether the
    /// memo holds an answer at all. The policy cannot change inside a transaction, so one answer
    /// serves every settlement of a batch with the same date; plain words, because a batch gives
    /// back the memory of each settlement and the memos outlive them.
    uint256 private constant MEMO_APPLIES = 1 << 128;
    uint256 private constant MEMO_ASKED = 1 << 129;
    /// @dev One memo per rate rule a payment can earn by (the slots `_awardPayment` passes).
    uint256 private constant RATE_RULES = 6;

    /// @dev The ABI size of a Settlement: eight static words.
    uint256 private constant SETTLEMENT_SIZE = 8 * 32;

    mapping(bytes32 ref => bytes32 dataHash) private _recorded;
    mapping(address member => bool) private _startupAwarded;
    mapping(address member => mapping(AppointmentTitle title => bool)) private _appointmentAwarded;
    uint40 private _latestRecordedDate;

    constructor(IMembership membership_, IContractRegistry registry_, IPolicyRegistry policy_, IPoints points_)
        LedgerAccess(membership_)
    {
        _registry = registry_;
        _policy = policy_;
        _points = points_;
    }

    /// @inheritdoc ISettlementLedger
    function record(Settlement calldata settlement) external onlyOperator returns (bool replayed) {
        uint256[RATE_RULES] memory memo = _noMemos();
        (replayed,) = _record(settlement, _latestRecordedDate, memo);
    }

    /// @inheritdoc ISettlementLedger
    function recordBatch(Settlement[] calldata settlements) external onlyOperator returns (uint256 replays) {
        if (settlements.length == 0) revert EmptyBatch();
        uint256[RATE_RULES] memory memo = _noMemos(); // allocated before the mark below: it lasts the batch
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        // The latest date is read once for the batch and carried from one settlement to the next.
        uint40 latest = _latestRecordedDate;
        bool replayed;
        for (uint256 i = 0; i < settlements.length; ++i) {
            (replayed, latest) = _record(settlements[i], latest, memo);
            if (replayed) ++replays;
            // Nothing allocated while recording one settlement outlives it: give the memory back so
            // that a batch costs linear, not quadratic, memory-expansion gas.
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
        }
    }

    /// @inheritdoc ISettlementLedger
    function attestStartupRevenue(bytes32 attestationId, address member, uint16 year, uint256 revenue, uint40 at)
        external
        onlyOperator
        returns (bool replayed)
    {
        bytes32 dataHash = keccak256(abi.encode("startup-revenue", member, year, revenue, at));
        if (_isReplay(attestationId, dataHash)) return true;
        IMembership.Profile memory profile = _membership.profileOf(member);
        if (profile.status == MemberStatus.None) revert NotAMember(member);
        if (profile.kind != MemberKind.Enterprise) revert NotAnEnterprise(member);
        if (revenue > type(uint48).max) revert AmountTooLarge(revenue);
        _accept(attestationId, dataHash, at);
        if (year > BeijingCalendar.yearOf(at)) revert RevenueYearAhead(year, at);
        emit StartupRevenueAttested(attestationId, member, year, revenue, at);

        if (_startupAwarded[member]) return false;
        (bool found, RuleParams memory p) = _policy.ruleAt(RuleIds.R11_SME, at);
        if (!found || !_inWindow(p, at) || revenue < p.threshold || p.amount == 0) return false;
        _startupAwarded[member] = true;
        if (profile.status == MemberStatus.Active) {
            _points.issue(member, p.amount, RuleIds.R11_SME, p.version, attestationId);
        }
    }

    /// @inheritdoc ISettlementLedger
    function attestAppointment(bytes32 attestationId, address member, AppointmentTitle title, uint40 at)
        external
        onlyOperator
        returns (bool replayed)
    {
        bytes32 dataHash = keccak256(abi.encode("appointment", member, title, at));
        if (_isReplay(attestationId, dataHash)) return true;
        MemberStatus status = _membership.profileOf(member).status;
        if (status == MemberStatus.None) revert NotAMember(member);
        _accept(attestationId, dataHash, at);
        emit AppointmentAttested(attestationId, member, title, at);

        if (_appointmentAwarded[member][title]) return false;
        (bool found, RuleParams memory p) = _policy.ruleAt(RuleIds.R6_TALENT, at);
        if (!found || !_inWindow(p, at) || p.amount == 0) return false;
        _appointmentAwarded[member][title] = true;
        if (status == MemberStatus.Active) {
            _points.issue(member, p.amount, RuleIds.R6_TALENT, p.version, attestationId);
        }
    }

    /// @inheritdoc ISettlementLedger
    function recordedHash(bytes32 ref) external view returns (bytes32) {
        return _recorded[ref];
    }

    /// @inheritdoc ISettlementLedger
    function latestRecordedDate() external view override(ISettlementLedger, IRecordClock) returns (uint40) {
        return _latestRecordedDate;
    }

    /// @dev Records one settlement; `latest` is the latest recorded date so far, returned updated;
    /// `memo` keeps the policy's answers for the rest of the transaction.
    function _record(Settlement calldata s, uint40 latest, uint256[RATE_RULES] memory memo)
        private
        returns (bool replayed, uint40)
    {
        if (s.ref == bytes32(0)) revert EmptyReference();
        bytes32 dataHash = _hashOf(s);
        bytes32 existing = _recorded[s.ref];
        if (existing != bytes32(0)) {
            if (existing != dataHash) revert DuplicatePayment(s.ref);
            emit SettlementReplayed(s.ref);
            return (true, latest);
        }
        if (s.amount == 0) revert ZeroAmount();
        if (s.amount > type(uint48).max) revert AmountTooLarge(s.amount);
        // Read from calldata (and its type checked) once: a batched settlement uses it up to six times.
        uint40 paidAt = s.paidAt;
        if (paidAt > block.timestamp) revert DatedInFuture(paidAt, block.timestamp);
        // Effects before interactions: a payment the registry refuses reverts the whole transaction.
        _recorded[s.ref] = dataHash;
        if (paidAt > latest) {
            latest = paidAt;
            _latestRecordedDate = latest;
        }
        emit SettlementRecorded(s.ref, s.contractId, s.milestone, s.period, s.amount, s.kind, paidAt, s.evidenceHash);
        (
            SellerTerms sellerTerms,
            BuyerTerms buyerTerms,
            address broker,
            uint256 buyerYearBefore,
            uint256 sellerYearBefore
        ) = _registry.applyPayment(s.contractId, s.milestone, s.period, s.amount, paidAt);
        _awardPayment(s, paidAt, sellerTerms, buyerTerms, broker, buyerYearBefore, sellerYearBefore, memo);
        return (false, latest);
    }

    /// @dev keccak256(abi.encode(s)), hashed where the settlement lies: a Settlement is eight static
    /// words, and calldata holds them exactly as abi.encode would write them (abi.encode copies and
    /// checks them one by one: about 100 opcodes more per settlement). A field with dirty high bits
    /// hashes differently from its clean twin, and is refused all the same: under a new reference
    /// reading the field reverts, under a recorded one it is a conflicting duplicate.
    function _hashOf(Settlement calldata s) private pure returns (bytes32 dataHash) {
        assembly ("memory-safe") {
            let copy := mload(0x40)
            calldatacopy(copy, s, SETTLEMENT_SIZE)
            dataHash := keccak256(copy, SETTLEMENT_SIZE)
        }
    }

    /// @dev `paidAt` is `s.paidAt`, as `_record` read it; the rest is what the registry answered.
    function _awardPayment(
        Settlement calldata s,
        uint40 paidAt,
        SellerTerms sellerTerms,
        BuyerTerms buyerTerms,
        address broker,
        uint256 buyerYearBefore,
        uint256 sellerYearBefore,
        uint256[RATE_RULES] memory memo
    ) private {
        ContractKind kind = sellerTerms.kind();
        uint256 receivedBefore = buyerTerms.receivedBefore();
        bool landingKind = kind == ContractKind.Transfer || kind == ContractKind.License || kind == ContractKind.Equity;
        MemberKind sellerKind = sellerTerms.sellerKind();
        bool research = sellerKind == MemberKind.University || sellerKind == MemberKind.Institute;
        if (landingKind && research && sellerTerms.buyerInRegion()) {
            _awardRate(memo, 0, RuleIds.R11_LANDING, sellerTerms.account(), receivedBefore, s, paidAt);
        }
        if (kind == ContractKind.License) {
            PaymentPlan plan = sellerTerms.plan();
            if (plan == PaymentPlan.ZeroUpfrontStagedRoyalty || plan == PaymentPlan.Deferred) {
                _awardRate(memo, 1, RuleIds.R3_LICENSOR, sellerTerms.account(), receivedBefore, s, paidAt);
                _awardRate(memo, 2, RuleIds.R3_LICENSEE, buyerTerms.account(), receivedBefore, s, paidAt);
            }
        }
        if (kind == ContractKind.Service) {
            _awardRate(memo, 3, RuleIds.R15_USER, buyerTerms.account(), buyerYearBefore, s, paidAt);
            _awardRate(memo, 4, RuleIds.R15_PROVIDER, sellerTerms.account(), sellerYearBefore, s, paidAt);
        }
        if (broker != address(0)) {
            _awardRate(memo, 5, RuleIds.R16_BROKER, broker, receivedBefore, s, paidAt);
        }
    }

    /// @dev The payment moves the rule's basis from `before` to `before + s.amount`; the award is
    /// issued only inside the window, by a version in force, to an active member. A suspended
    /// member's award is withheld for good. `memo[slot]` is this rule's: the registry is asked
    /// again only for another date.
    function _awardRate(
        uint256[RATE_RULES] memory memo,
        uint256 slot,
        bytes32 ruleId,
        address member,
        uint256 before,
        Settlement calldata s,
        uint40 paidAt
    ) private {
        uint256 m = memo[slot];
        if (m & MEMO_ASKED == 0 || uint40(m) != paidAt) {
            (bool found, RuleParams memory p) = _policy.ruleAt(ruleId, paidAt);
            m = MEMO_ASKED | paidAt | (uint256(p.rateBps) << 40) | (uint256(p.threshold) << 56)
                | (uint256(p.version) << 104);
            if (found && _inWindow(p, paidAt)) m |= MEMO_APPLIES;
            memo[slot] = m;
        }
        if (m & MEMO_APPLIES == 0) return;
        uint256 amount = AwardMath.delta(before, before + s.amount, uint16(m >> 40), uint48(m >> 56));
        if (amount == 0 || !_membership.isActive(member)) return;
        _points.issue(member, amount, ruleId, uint24(m >> 104), s.ref);
    }

    function _isReplay(bytes32 id, bytes32 dataHash) private returns (bool) {
        if (id == bytes32(0)) revert EmptyReference();
        bytes32 existing = _recorded[id];
        if (existing == bytes32(0)) return false;
        if (existing != dataHash) revert DuplicateAttestation(id);
        emit AttestationReplayed(id);
        return true;
    }

    function _accept(bytes32 id, bytes32 dataHash, uint40 at) private {
        if (at > block.timestamp) revert DatedInFuture(at, block.timestamp);
        _recorded[id] = dataHash;
        if (at > _latestRecordedDate) _latestRecordedDate = at;
    }

    /// @dev Empty memos, one per rate rule (see MEMO_ASKED).
    function _noMemos() private pure returns (uint256[RATE_RULES] memory) {
        return [uint256(0), 0, 0, 0, 0, 0];
    }

    function _inWindow(RuleParams memory p, uint256 date) private pure returns (bool) {
        return date >= p.windowStart && date <= p.windowEnd;
    }
}
