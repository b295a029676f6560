// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IContractRegistry} from "ledger-contracts/interfaces/IContractRegistry.sol";
import {IMembership} from "ledger-contracts/interfaces/IMembership.sol";
import {IPoints} from "ledger-contracts/interfaces/IPoints.sol";
import {IPolicyRegistry} from "ledger-contracts/interfaces/IPolicyRegistry.sol";
import {ISettlementLedger} from "ledger-contracts/interfaces/ISettlementLedger.sol";
import {
    AppointmentTitle,
    ContractKind,
    MemberKind,
    MemberStatus,
    PaymentPlan,
    Settlement,
    SettlementKind
} from "ledger-contracts/libraries/LedgerTypes.sol";
import {RuleIds} from "ledger-contracts/libraries/RuleIds.sol";
import {VM, Vm} from "./Vm.sol";

/// @dev What the deployed Points contract offers beyond its interface.
interface IPointsToken is IPoints {
    function balanceOf(address member) external view returns (uint256);
    function totalSupply() external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// @dev The one-time wiring calls made by the regulator after deployment.
interface IWiring {
    function wireLedger(address ledger) external;
    function wireIssuer(address issuer) external;
    function wireRecordClock(address clock) external;
}

/// @title Drives random sequences of market operations against the deployed ledger
/// @notice Every action predicts, from a ghost model of its own, whether the ledger must accept it
/// and what it must issue; the invariants compare the ghost with the chain. The ghost never reads
/// an award from the chain to decide what the award should be.
contract LedgerHandler {
    // ---- time: the policy window of the action plan, in Beijing time (UTC+8) ----
    uint40 internal constant POLICY_START = 1_768_320_000; // 2026-01-15 00:00 Beijing
    uint40 internal constant POLICY_END = 1_861_891_199; // 2028-12-31 23:59:59 Beijing
    uint40 internal constant CLOCK_START = 1_769_904_000; // 2026-02-01 00:00 UTC
    uint40 internal constant CLOCK_END = 1_893_427_199; // 2029-12-31 23:59:59 Beijing
    uint256 internal constant MAX_FEN = type(uint48).max;
    /// @dev The R11 threshold of the published policy: 2,000,000.00 yuan in fen.
    uint48 internal constant LANDING_THRESHOLD = 200_000_000;
    uint32 internal constant ONLY_MILESTONE = type(uint32).max;


    address public constant REGULATOR = address(0xA11CE);
    address public constant OPERATOR = address(0x0DE7A);
    address public constant OUTSIDER = address(0xBAD);
    bytes32 internal constant INSTRUMENT = "instrument-1";
    uint256 internal constant ACTORS = 8;
    uint256 internal constant LATE_ACTORS = 2; // the last two are enrolled by the fuzzer, not at set-up
    uint256 internal constant MAX_MILESTONES = 3;
    uint256 internal constant PERIODS = 3;

    IMembership public immutable membership;
    IContractRegistry public immutable registry;
    IPolicyRegistry public immutable policy;
    ISettlementLedger public immutable ledger;
    IPointsToken public immutable points;

    // ---- the ghost model ----
    struct GhostMilestone {
        uint256 due;
        uint256 paid;
        bool achieved;
    }

    struct GhostRoyalty {
        bool reported;
        uint256 due;
        uint256 paid;
    }

    struct GhostContract {
        bytes32 id;
        ContractKind kind;
        PaymentPlan plan;
        address seller;
        address buyer;
        address broker;
        uint40 signedAt;
        uint16 royaltyBps;
        uint256 received;
        uint256 milestoneCount;
    }

    address[ACTORS] public actors;
    MemberKind[ACTORS] internal _kinds;
    bool[ACTORS] internal _inRegion;
    mapping(address => MemberStatus) public ghostStatus;
    mapping(address => MemberKind) internal _ghostKind;

    bytes32[8] internal _ruleIds = [
        RuleIds.R11_LANDING,
        RuleIds.R15_USER,
        RuleIds.R15_PROVIDER,
        RuleIds.R3_LICENSOR,
        RuleIds.R3_LICENSEE,
        RuleIds.R11_SME,
        RuleIds.R6_TALENT,
        RuleIds.R16_BROKER
    ];
    mapping(bytes32 => IPolicyRegistry.RuleUpdate[]) internal _rules;
    uint40 internal _latestRecorded;

    GhostContract[] internal _contracts;
    mapping(bytes32 => mapping(uint256 => GhostMilestone)) internal _milestones;
    mapping(bytes32 => mapping(bytes32 => GhostRoyalty)) internal _royalties;
    mapping(bytes32 => uint256) internal _yearBasis;
    mapping(address => bool) internal _startupAwarded;
    mapping(address => mapping(AppointmentTitle => bool)) internal _appointmentAwarded;

    Settlement[] internal _accepted;
    mapping(bytes32 => uint256) public acceptedCount;
    struct Attestation {
        bytes32 id;
        bool startup;
        address member;
        uint16 year;
        uint256 revenue;
        AppointmentTitle title;
        uint40 at;
    }
    Attestation[] internal _attestations;
    uint256 internal _nonce;

    /// @notice Points the ghost expects, per member and rule, and what the chain actually issued.
    mapping(address => mapping(bytes32 => uint256)) public expectedByRule;
    mapping(address => mapping(bytes32 => uint256)) public issuedByRule;
    mapping(address => uint256) public expectedBalance;
    uint256 public expectedIssued;
    uint256 public expectedRedeemed;

    // ---- violations seen while acting (each must stay zero) ----
    uint256 public outcomeMismatches;
    string public firstMismatch;
    uint256 public unauthorizedSuccesses;
    bytes4 public firstUnauthorized;
    uint256 public doubleCounted;
    uint256 public replayChangedPoints;
    uint256 public pointsToSuspended;
    uint256 public issuanceWithoutSource;
    uint256 public milestoneWentBack;

    /// @notice How many calls of each action reached the ledger, and how many it accepted.
    mapping(bytes32 => uint256) public calls;
    mapping(bytes32 => uint256) public accepted;

    constructor() {
        VM.warp(CLOCK_START);
        // Deployed from the production artifacts (compiled through the IR pipeline), not re-compiled here.
        IMembership membership_ = IMembership(VM.deployCode("Membership.sol:Membership", abi.encode(REGULATOR)));
        address registry_ = VM.deployCode("ContractRegistry.sol:ContractRegistry", abi.encode(membership_));
        address policy_ = VM.deployCode("PolicyRegistry.sol:PolicyRegistry", abi.encode(membership_));
        address points_ = VM.deployCode("Points.sol:Points", abi.encode(membership_));
        address ledger_ = VM.deployCode(
            "SettlementLedger.sol:SettlementLedger", abi.encode(membership_, registry_, policy_, points_)
        );
        VM.prank(REGULATOR);
        IWiring(policy_).wireRecordClock(ledger_);
        VM.prank(REGULATOR);
        IWiring(registry_).wireLedger(ledger_);
        VM.prank(REGULATOR);
        IWiring(points_).wireIssuer(ledger_);
        membership = membership_;
        registry = IContractRegistry(registry_);
        policy = IPolicyRegistry(policy_);
        points = IPointsToken(points_);
        ledger = ISettlementLedger(ledger_);
        VM.prank(REGULATOR);
        membership_.appointOperator(OPERATOR);

        MemberKind[ACTORS] memory kinds = [
            MemberKind.University,
            MemberKind.Institute,
            MemberKind.Enterprise,
            MemberKind.Enterprise,
            MemberKind.InstrumentProvider,
            MemberKind.Broker,
            MemberKind.Individual,
            MemberKind.Enterprise
        ];
        bool[ACTORS] memory inRegion = [true, true, true, false, true, true, true, false];
        for (uint256 i = 0; i < ACTORS; ++i) {
            actors[i] = address(uint160(0x1000 + i));
            _kinds[i] = kinds[i];
            _inRegion[i] = inRegion[i];
            if (i < ACTORS - LATE_ACTORS) _enrol(i);
        }
        VM.prank(OPERATOR);
        registry.registerInstrument(INSTRUMENT, actors[4], 50_000_000);
        _publish(_documentPolicy());
    }

    // =====================================================================================
    // Actions
    // =====================================================================================

    function enrol(uint256 who) external {
        uint256 i = who % ACTORS;
        uint256 variant = (who >> 128) % 8;
        if (variant == 7) {
            // The operator's account enrolled as a member that trades (every actor's kind does): refused.
            bytes memory data = abi.encodeCall(
                IMembership.enrol, (OPERATOR, _kinds[i], _inRegion[i], keccak256(abi.encode(i)), bytes32(i + 1))
            );
            _regulatorCall("enrolOperator", address(membership), data, false);
            return;
        }
        if (variant == 6 && ghostStatus[actors[i]] != MemberStatus.None) {
            // An enrolled member that trades, active or suspended, appointed operator: refused.
            bytes memory data = abi.encodeCall(IMembership.appointOperator, (actors[i]));
            _regulatorCall("appointMember", address(membership), data, false);
            return;
        }
        bool expect = ghostStatus[actors[i]] == MemberStatus.None;
        _regulatorCall(
            "enrol",
            address(membership),
            abi.encodeCall(
                IMembership.enrol, (actors[i], _kinds[i], _inRegion[i], keccak256(abi.encode(i)), bytes32(i + 1))
            ),
            expect
        );
        if (expect) {
            ghostStatus[actors[i]] = MemberStatus.Active;
            _ghostKind[actors[i]] = _kinds[i];
        }
    }

    function suspend(uint256 who) external {
        address account = actors[who % ACTORS];
        bool expect = ghostStatus[account] == MemberStatus.Active;
        _regulatorCall("suspend", address(membership), abi.encodeCall(IMembership.suspend, (account)), expect);
        if (expect) ghostStatus[account] = MemberStatus.Suspended;
    }

    function reinstate(uint256 who) external {
        address account = actors[who % ACTORS];
        bool expect = ghostStatus[account] == MemberStatus.Suspended;
        _regulatorCall("reinstate", address(membership), abi.encodeCall(IMembership.reinstate, (account)), expect);
        if (expect) ghostStatus[account] = MemberStatus.Active;
    }

    function advanceTime(uint256 seconds_) external {
        uint256 next = block.timestamp + (seconds_ % 20 days);
        if (next > CLOCK_END) next = CLOCK_END;
        VM.warp(next);
    }

    function publishPolicy(uint256 seed, uint8 ruleCount, bool retroactive) external {
        uint256 count = 1 + (ruleCount % 3);
        IPolicyRegistry.RuleUpdate[] memory updates = new IPolicyRegistry.RuleUpdate[](count);
        bool expect = true;
        for (uint256 i = 0; i < count; ++i) {
            seed = uint256(keccak256(abi.encode(seed, i)));
            bytes32 ruleId = _ruleIds[seed % 8];
            // any date from the latest recorded on, before or after the rule's versions published so far
            updates[i] = _randomUpdate(seed, ruleId, _latestRecorded + uint40((seed >> 8) % 30 days));
            if (retroactive && i == 0 && _latestRecorded > POLICY_START) {
                updates[i].effectiveFrom = _latestRecorded - 1;
                expect = false;
            }
        }
        bool ok = _regulatorCall(
            "publishPolicy",
            address(policy),
            abi.encodeCall(IPolicyRegistry.publish, (keccak256(abi.encode(seed)), updates)),
            expect
        );
        if (ok) _ghostPublish(updates);
    }

    function registerContract(uint256 seed, uint8 sellerSeed, uint8 buyerSeed, uint8 brokerSeed) external {
        IContractRegistry.ContractInput memory input = _contractInput(seed, sellerSeed, buyerSeed, brokerSeed);
        bool expect = input.seller != input.buyer && ghostStatus[input.seller] == MemberStatus.Active
            && ghostStatus[input.buyer] == MemberStatus.Active
            && (input.broker == address(0)
                || ghostStatus[input.broker] == MemberStatus.Active && input.broker != input.seller
                    && input.broker != input.buyer);
        if (input.kind == ContractKind.Service) expect = expect && input.seller == actors[4];
        // Half the time through the group call, as a group of one: the same checks, the same record.
        bytes memory data = abi.encodeCall(IContractRegistry.registerContract, (input));
        if ((seed >> 128) % 2 == 1) {
            IContractRegistry.ContractInput[] memory group = new IContractRegistry.ContractInput[](1);
            group[0] = input;
            data = abi.encodeCall(IContractRegistry.registerContracts, (group));
        }
        bool ok = _operatorCall("registerContract", address(registry), data, expect);
        if (!ok) return;
        _contracts.push(
            GhostContract({
                id: input.id,
                kind: input.kind,
                plan: input.plan,
                seller: input.seller,
                buyer: input.buyer,
                broker: input.broker,
                signedAt: input.signedAt,
                royaltyBps: input.royaltyBps,
                received: 0,
                milestoneCount: input.milestones.length
            })
        );
        for (uint256 i = 0; i < input.milestones.length; ++i) {
            _milestones[input.id][i].due = input.milestones[i].amount;
        }
    }

    function achieveMilestone(uint256 contractSeed, uint256 index, uint256 ago) external {
        if (_contracts.length == 0) return;
        GhostContract storage c = _contracts[contractSeed % _contracts.length];
        index = index % (MAX_MILESTONES + 1);
        // One call in eight is dated the day before signing, which the registry must refuse.
        bool beforeSigning = ago % 8 == 7;
        uint40 at = beforeSigning ? c.signedAt - 1 days : _pastDate(c.signedAt, ago >> 3);
        bool expect = !beforeSigning && index < c.milestoneCount && !_milestones[c.id][index].achieved;
        bool ok = _operatorCall(
            "achieveMilestone",
            address(registry),
            abi.encodeCall(IContractRegistry.achieveMilestone, (c.id, index, at)),
            expect
        );
        if (ok) _milestones[c.id][index].achieved = true;
    }

    function reportRevenue(uint256 contractSeed, uint8 periodSeed, uint256 revenue, uint256 dateSeed) external {
        if (_contracts.length == 0) return;
        GhostContract storage c = _contracts[contractSeed % _contracts.length];
        bytes32 period = bytes32(uint256(1 + periodSeed % PERIODS));
        revenue = revenue % 1_000_000_000;
        GhostRoyalty storage r = _royalties[c.id][period];
        // One report in eight is dated the day before signing, which the registry must refuse.
        bool beforeSigning = dateSeed % 8 == 7;
        uint40 at = beforeSigning ? c.signedAt - 1 days : uint40(block.timestamp);
        bool expect = !beforeSigning && c.royaltyBps != 0 && !r.reported;
        bool ok = _operatorCall(
            "reportRevenue",
            address(registry),
            abi.encodeCall(IContractRegistry.reportRevenue, (c.id, period, revenue, at)),
            expect
        );
        if (ok) {
            r.reported = true;
            r.due = revenue * c.royaltyBps / 10_000;
        }
    }

    /// @notice Record one new payment (sometimes a bad one the ledger must refuse).
    function settle(uint256 contractSeed, uint256 slotSeed, uint256 amountSeed, uint256 dateSeed) external {
        if (_contracts.length == 0) return;
        (Settlement memory s, bool expect) = _newSettlement(contractSeed, slotSeed, amountSeed, dateSeed);
        _settle("settle", s, expect);
    }

    /// @notice Record two new payments in one batch: both or neither.
    function settleBatch(uint256 seedA, uint256 seedB) external {
        if (_contracts.length == 0) return;
        (Settlement memory a, bool expectA) = _newSettlement(seedA, seedA >> 64, seedA >> 128, seedA >> 192);
        (Settlement memory b, bool expectB) = _newSettlement(seedB, seedB >> 64, seedB >> 128, seedB >> 192);
        // Two payments against the same milestone or period interact through its outstanding amount.
        if (a.contractId == b.contractId && a.period == b.period && _slot(a) == _slot(b)) return;
        Settlement[] memory batch = new Settlement[](2);
        batch[0] = a;
        batch[1] = b;
        uint256 issuedBefore = points.totalIssued();
        bool ok = _operatorCall(
            "settleBatch",
            address(ledger),
            abi.encodeCall(ISettlementLedger.recordBatch, (batch)),
            expectA && expectB
        );
        if (ok) {
            _ghostAccept(a);
            _ghostAccept(b);
        } else if (points.totalIssued() != issuedBefore) {
            ++replayChangedPoints;
        }
    }

    /// @notice Resend a recorded payment unchanged: a harmless replay.
    function replay(uint256 refSeed) external {
        if (_accepted.length == 0) return;
        Settlement memory s = _accepted[refSeed % _accepted.length];
        uint256 issuedBefore = points.totalIssued();
        uint256 receivedBefore = registry.contractOf(s.contractId).received;
        _operatorCall("replay", address(ledger), abi.encodeCall(ISettlementLedger.record, (s)), true);
        if (points.totalIssued() != issuedBefore || registry.contractOf(s.contractId).received != receivedBefore) {
            ++replayChangedPoints;
        }
    }

    /// @notice Resend a recorded reference with different data: always refused.
    function conflict(uint256 refSeed, uint8 field, uint32 delta) external {
        if (_accepted.length == 0) return;
        Settlement memory s = _accepted[refSeed % _accepted.length];
        uint256 change = 1 + uint256(delta);
        if (field % 4 == 0) s.amount = s.amount > change ? s.amount - change : s.amount + change;
        else if (field % 4 == 1) s.paidAt = s.paidAt > change ? uint40(s.paidAt - change) : s.paidAt;
        else if (field % 4 == 2) s.evidenceHash = keccak256(abi.encode(s.evidenceHash, delta));
        else s.kind = s.kind == SettlementKind.Cash ? SettlementKind.Equity : SettlementKind.Cash;
        if (keccak256(abi.encode(s)) == keccak256(abi.encode(_accepted[refSeed % _accepted.length]))) return;
        bool ok = _operatorCall("conflict", address(ledger), abi.encodeCall(ISettlementLedger.record, (s)), false);
        if (ok) ++doubleCounted;
    }

    function attestStartupRevenue(uint256 who, uint256 revenue, uint256 ago, uint8 mode) external {
        if (mode % 4 == 0 && _attestations.length > 0) return _resendAttestation(who, mode);
        address member = actors[who % ACTORS];
        revenue = revenue % 2 == 0 ? revenue % 40_000_000 : 20_000_000;
        uint40 at = _pastDate(POLICY_START, ago);
        bool yearAhead = mode % 4 == 3; // the revenue of a year that had not begun on its date: refused
        uint16 year = _beijingYear(at) + (yearAhead ? 1 : 0);
        bytes32 id = _nextId("attestation");
        bool expect =
            ghostStatus[member] != MemberStatus.None && _ghostKind[member] == MemberKind.Enterprise && !yearAhead;
        bool ok = _operatorCall(
            "attestStartupRevenue",
            address(ledger),
            abi.encodeCall(ISettlementLedger.attestStartupRevenue, (id, member, year, revenue, at)),
            expect
        );
        if (!ok) return;
        _attestations.push(Attestation(id, true, member, year, revenue, AppointmentTitle.TechVicePresident, at));
        _noteRecorded(at);
        if (_startupAwarded[member]) return;
        (bool found, IPolicyRegistry.RuleUpdate memory r) = _ruleAt(RuleIds.R11_SME, at);
        if (!found || !_inWindow(r, at) || revenue < r.threshold || r.amount == 0) return;
        _startupAwarded[member] = true;
        _expectIssue(member, RuleIds.R11_SME, r.amount);
    }

    function attestAppointment(uint256 who, bool professor, uint256 ago, uint8 mode) external {
        if (mode % 4 == 0 && _attestations.length > 0) return _resendAttestation(who, mode);
        address member = actors[who % ACTORS];
        AppointmentTitle title = professor ? AppointmentTitle.IndustryProfessor : AppointmentTitle.TechVicePresident;
        uint40 at = _pastDate(POLICY_START, ago);
        bytes32 id = _nextId("attestation");
        bool expect = ghostStatus[member] != MemberStatus.None;
        bool ok = _operatorCall(
            "attestAppointment",
            address(ledger),
            abi.encodeCall(ISettlementLedger.attestAppointment, (id, member, title, at)),
            expect
        );
        if (!ok) return;
        _attestations.push(Attestation(id, false, member, 0, 0, title, at));
        _noteRecorded(at);
        if (_appointmentAwarded[member][title]) return;
        (bool found, IPolicyRegistry.RuleUpdate memory r) = _ruleAt(RuleIds.R6_TALENT, at);
        if (!found || !_inWindow(r, at) || r.amount == 0) return;
        _appointmentAwarded[member][title] = true;
        _expectIssue(member, RuleIds.R6_TALENT, r.amount);
    }

    function redeem(uint256 who, uint256 amountSeed, bool all) external {
        address member = actors[who % ACTORS];
        uint256 balance = expectedBalance[member];
        // A balance that already differs from the ghost is the formula check's finding; redeeming from it
        // would report only a consequence (a refusal the ghost did not expect).
        if (points.balanceOf(member) != balance) return;
        uint256 amount = all ? balance : amountSeed % 5 == 0 ? balance + 1 : amountSeed % (balance + 1);
        bool expect = ghostStatus[member] == MemberStatus.Active && amount > 0 && amount <= balance;
        bool ok = _call("redeem", member, address(points), abi.encodeCall(IPoints.redeem, (amount, "service")), expect);
        // An overdraw the chain wrongly accepted is already counted as a mismatch; the ghost stays sound.
        if (ok && expect) {
            expectedBalance[member] -= amount;
            expectedRedeemed += amount;
        }
    }

    /// @notice A write by someone without the role it needs: must never succeed.
    function unauthorized(uint256 callerSeed, uint256 actionSeed) external {
        address caller = callerSeed % 3 == 0 ? OUTSIDER : actors[callerSeed % ACTORS];
        bool operatorCanTry = actionSeed % 2 == 0;
        if (callerSeed % 5 == 1 && !operatorCanTry) caller = OPERATOR; // operators cannot do regulator work
        (address target, bytes memory data) = _privilegedCall(actionSeed, operatorCanTry);
        calls["unauthorized"] += 1;
        VM.prank(caller);
        (bool ok,) = target.call(data);
        if (ok) {
            ++unauthorizedSuccesses;
            if (firstUnauthorized == bytes4(0)) firstUnauthorized = bytes4(data);
        }
    }

    // =====================================================================================
    // Views for the invariants
    // =====================================================================================

    function contractCount() external view returns (uint256) {
        return _contracts.length;
    }

    function ghostContract(uint256 i) external view returns (GhostContract memory) {
        return _contracts[i];
    }

    function ghostMilestone(bytes32 id, uint256 index) external view returns (GhostMilestone memory) {
        return _milestones[id][index];
    }

    function acceptedSettlements() external view returns (uint256) {
        return _accepted.length;
    }

    function acceptedAt(uint256 i) external view returns (Settlement memory) {
        return _accepted[i];
    }

    function ruleIds() external view returns (bytes32[8] memory) {
        return _ruleIds;
    }

    // =====================================================================================
    // Calls: prank, observe the issuances, compare the outcome with the prediction
    // =====================================================================================

    function _regulatorCall(bytes32 action, address target, bytes memory data, bool expect) internal returns (bool) {
        return _call(action, REGULATOR, target, data, expect);
    }

    function _operatorCall(bytes32 action, address target, bytes memory data, bool expect) internal returns (bool) {
        return _call(action, OPERATOR, target, data, expect);
    }

    function _call(bytes32 action, address caller, address target, bytes memory data, bool expect)
        internal
        returns (bool ok)
    {
        calls[action] += 1;
        uint256[ACTORS] memory before = _balances();
        VM.recordLogs();
        VM.prank(caller);
        (ok,) = target.call(data);
        // Forge records the events of a reverted call too; the chain keeps only those of accepted ones.
        Vm.Log[] memory logs = VM.getRecordedLogs();
        if (ok) {
            accepted[action] += 1;
            _observeIssuances(logs, data);
        }
        if (ok != expect) {
            ++outcomeMismatches;
            if (bytes(firstMismatch).length == 0) {
                firstMismatch = string.concat(
                    _name(action), ok ? " was accepted but must be refused" : " was refused but must be accepted"
                );
            }
        }
        for (uint256 i = 0; i < ACTORS; ++i) {
            if (ghostStatus[actors[i]] == MemberStatus.Suspended && points.balanceOf(actors[i]) > before[i]) {
                ++pointsToSuspended;
            }
        }
    }

    /// @dev Sums the PointsIssued events of the last call per member and rule, and checks that each
    /// names as its source a reference or attestation id sent in that call.
    function _observeIssuances(Vm.Log[] memory logs, bytes memory data) internal {
        bytes32 issued = keccak256("PointsIssued(address,bytes32,bytes32,uint256,uint24)");
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(points) || logs[i].topics[0] != issued) continue;
            address member = address(uint160(uint256(logs[i].topics[1])));
            bytes32 ruleId = logs[i].topics[2];
            bytes32 source = logs[i].topics[3];
            (uint256 amount,) = abi.decode(logs[i].data, (uint256, uint24));
            issuedByRule[member][ruleId] += amount;
            if (!_contains(data, source)) ++issuanceWithoutSource;
        }
    }

    function _contains(bytes memory data, bytes32 word) internal pure returns (bool) {
        if (word == bytes32(0)) return false;
        for (uint256 offset = 4; offset + 32 <= data.length; offset += 32) {
            bytes32 candidate;
            assembly ("memory-safe") {
                candidate := mload(add(add(data, 32), offset))
            }
            if (candidate == word) return true;
        }
        return false;
    }

    function _balances() internal view returns (uint256[ACTORS] memory out) {
        for (uint256 i = 0; i < ACTORS; ++i) {
            out[i] = points.balanceOf(actors[i]);
        }
    }

    // =====================================================================================
    // Settlements
    // =====================================================================================

    function _settle(bytes32 action, Settlement memory s, bool expect) internal {
        uint256 issuedBefore = points.totalIssued();
        bool ok = _operatorCall(action, address(ledger), abi.encodeCall(ISettlementLedger.record, (s)), expect);
        if (ok) _ghostAccept(s);
        else if (points.totalIssued() != issuedBefore) ++replayChangedPoints;
    }

    /// @dev A fresh reference against a known contract, with an amount and a date chosen to hit the
    /// edges: the full outstanding amount, exactly the landing threshold, one fen too much, a date
    /// before signing or in the future, an unachieved milestone, an unreported royalty period.
    function _newSettlement(uint256 contractSeed, uint256 slotSeed, uint256 amountSeed, uint256 dateSeed)
        internal
        returns (Settlement memory s, bool expect)
    {
        GhostContract storage c = _contracts[contractSeed % _contracts.length];
        s.ref = _nextId("ref");
        s.contractId = c.id;
        s.kind = amountSeed % 7 == 0 ? SettlementKind.Equity : SettlementKind.Cash;
        s.evidenceHash = keccak256(abi.encode(s.ref));
        uint256 outstanding;
        expect = true;
        if (c.royaltyBps != 0 && slotSeed % 3 == 0) {
            s.period = bytes32(uint256(1 + (slotSeed >> 8) % PERIODS));
            GhostRoyalty storage r = _royalties[c.id][s.period];
            expect = r.reported;
            outstanding = r.due - r.paid;
        } else {
            uint256 index = (slotSeed >> 8) % (MAX_MILESTONES + 1);
            s.milestone = c.milestoneCount == 1 && slotSeed % 2 == 0 ? ONLY_MILESTONE : uint32(index);
            if (s.milestone == ONLY_MILESTONE) index = 0;
            if (index >= c.milestoneCount) {
                expect = false;
            } else {
                GhostMilestone storage m = _milestones[c.id][index];
                bool needsAchievement = c.plan == PaymentPlan.Staged || c.plan == PaymentPlan.ZeroUpfrontStagedRoyalty;
                if (needsAchievement && !m.achieved) expect = false;
                outstanding = m.due - m.paid;
            }
        }
        uint256 mode = amountSeed % 8;
        if (mode <= 2) {
            s.amount = outstanding;
        } else if (mode == 3 && c.received < LANDING_THRESHOLD && LANDING_THRESHOLD - c.received <= outstanding) {
            s.amount = LANDING_THRESHOLD - c.received;
        } else if (mode == 4) {
            s.amount = outstanding + 1;
        } else if (mode == 5 && amountSeed % 64 == 5) {
            s.amount = amountSeed % 2 == 0 ? 0 : MAX_FEN + 1;
        } else {
            s.amount = outstanding == 0 ? 1 : 1 + (amountSeed >> 8) % outstanding;
        }
        if (s.amount == 0 || s.amount > outstanding || s.amount > MAX_FEN) expect = false;

        uint256 dateMode = dateSeed % 16;
        if (dateMode == 0 && c.signedAt > 0) {
            s.paidAt = c.signedAt - 1;
            expect = false;
        } else if (dateMode == 1) {
            s.paidAt = uint40(block.timestamp + 1);
            expect = false;
        } else {
            s.paidAt = _pastDate(c.signedAt, dateSeed >> 8);
        }
    }

    function _slot(Settlement memory s) internal pure returns (uint256) {
        return s.period == bytes32(0) ? (s.milestone == ONLY_MILESTONE ? 0 : s.milestone) : uint256(s.period);
    }

    /// @dev The ghost's own reading of a payment the ledger accepted: contract, milestone or royalty,
    /// and the points every rule must issue for it.
    function _ghostAccept(Settlement memory s) internal {
        acceptedCount[s.ref] += 1;
        if (acceptedCount[s.ref] > 1) ++doubleCounted;
        _accepted.push(s);
        _noteRecorded(s.paidAt);
        GhostContract storage c = _contractById(s.contractId);
        if (s.period == bytes32(0)) {
            _milestones[c.id][_slot(s)].paid += s.amount;
        } else {
            _royalties[c.id][s.period].paid += s.amount;
        }
        uint256 before = c.received;
        uint256 after_ = before + s.amount;
        c.received = after_;

        MemberKind sellerKind = _ghostKind[c.seller];
        bool research = sellerKind == MemberKind.University || sellerKind == MemberKind.Institute;
        bool transferLike =
            c.kind == ContractKind.Transfer || c.kind == ContractKind.License || c.kind == ContractKind.Equity;
        if (transferLike && research && _regionOf(c.buyer)) {
            _expectRate(RuleIds.R11_LANDING, c.seller, before, after_, s.paidAt);
        }
        if (
            c.kind == ContractKind.License
                && (c.plan == PaymentPlan.ZeroUpfrontStagedRoyalty || c.plan == PaymentPlan.Deferred)
        ) {
            _expectRate(RuleIds.R3_LICENSOR, c.seller, before, after_, s.paidAt);
            _expectRate(RuleIds.R3_LICENSEE, c.buyer, before, after_, s.paidAt);
        }
        if (c.kind == ContractKind.Service) {
            uint16 year = _beijingYear(s.paidAt);
            _expectYearly(RuleIds.R15_USER, c.buyer, year, s);
            _expectYearly(RuleIds.R15_PROVIDER, c.seller, year, s);
        }
        if (c.broker != address(0)) _expectRate(RuleIds.R16_BROKER, c.broker, before, after_, s.paidAt);
    }

    function _expectYearly(bytes32 ruleId, address member, uint16 year, Settlement memory s) internal {
        bytes32 key = keccak256(abi.encode(ruleId, member, year));
        uint256 before = _yearBasis[key];
        _yearBasis[key] = before + s.amount;
        _expectRate(ruleId, member, before, before + s.amount, s.paidAt);
    }

    function _expectRate(bytes32 ruleId, address member, uint256 before, uint256 after_, uint40 date) internal {
        (bool found, IPolicyRegistry.RuleUpdate memory r) = _ruleAt(ruleId, date);
        if (!found || !_inWindow(r, date)) return;
        uint256 earned = _cumulative(after_, r) - _cumulative(before, r);
        if (earned > 0) _expectIssue(member, ruleId, earned);
    }

    /// @dev The policy's formula: 0 below the (inclusive) threshold, else floor(basis × rate).
    function _cumulative(uint256 basis, IPolicyRegistry.RuleUpdate memory r) internal pure returns (uint256) {
        if (basis < r.threshold) return 0;
        return basis * r.rateBps / 10_000;
    }

    function _expectIssue(address member, bytes32 ruleId, uint256 amount) internal {
        if (ghostStatus[member] != MemberStatus.Active) return; // withheld from a suspended member
        expectedByRule[member][ruleId] += amount;
        expectedBalance[member] += amount;
        expectedIssued += amount;
    }

    function _resendAttestation(uint256 seed, uint8 mode) internal {
        Attestation memory a = _attestations[seed % _attestations.length];
        bool change = mode % 8 == 4;
        uint40 at = change ? a.at - 1 : a.at;
        uint256 issuedBefore = points.totalIssued();
        bytes memory data = a.startup
            ? abi.encodeCall(ISettlementLedger.attestStartupRevenue, (a.id, a.member, a.year, a.revenue, at))
            : abi.encodeCall(ISettlementLedger.attestAppointment, (a.id, a.member, a.title, at));
        bool ok = _operatorCall("resendAttestation", address(ledger), data, !change);
        if (change && ok) ++doubleCounted;
        if (points.totalIssued() != issuedBefore) ++replayChangedPoints;
    }

    // =====================================================================================
    // Contracts and policy
    // =====================================================================================

    function _contractInput(uint256 seed, uint8 sellerSeed, uint8 buyerSeed, uint8 brokerSeed)
        internal
        returns (IContractRegistry.ContractInput memory input)
    {
        input.id = _nextId("contract");
        input.kind = ContractKind(seed % 5);
        input.plan = PaymentPlan((seed >> 8) % 4);
        input.seller = input.kind == ContractKind.Service && sellerSeed % 4 != 0
            ? actors[4]
            : actors[sellerSeed % ACTORS];
        input.buyer = actors[buyerSeed % ACTORS];
        input.broker = brokerSeed % 3 == 0 ? actors[brokerSeed % ACTORS] : address(0);
        if (input.kind == ContractKind.Service) input.instrumentId = INSTRUMENT;
        input.signedAt = _pastDate(POLICY_START - 30 days, seed >> 16);
        input.termsHash = keccak256(abi.encode(input.id));
        uint256 count = input.plan == PaymentPlan.Deferred ? 1 : 1 + (seed >> 64) % MAX_MILESTONES;
        if (input.plan == PaymentPlan.ZeroUpfrontStagedRoyalty) {
            input.royaltyBps = uint16((seed >> 72) % 3001);
        }
        input.milestones = new IContractRegistry.MilestoneInput[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 pick = (seed >> (96 + 16 * i)) % 4;
            uint256 amount = pick == 0
                ? uint256(LANDING_THRESHOLD)
                : pick == 1 ? uint256(LANDING_THRESHOLD / 2) : 1 + (seed >> (104 + 16 * i)) % 300_000_000;
            input.milestones[i] = IContractRegistry.MilestoneInput({
                title: "stage", amount: amount, dueDate: input.signedAt + uint40(1 days * (i + 1))
            });
        }
    }

    function _randomUpdate(uint256 seed, bytes32 ruleId, uint40 effectiveFrom)
        internal
        pure
        returns (IPolicyRegistry.RuleUpdate memory)
    {
        uint48[4] memory thresholds = [uint48(0), LANDING_THRESHOLD, uint48((seed >> 48) % 300_000_000), uint48(1)];
        return IPolicyRegistry.RuleUpdate({
            ruleId: ruleId,
            rateBps: uint16((seed >> 16) % 10_001),
            amount: uint48((seed >> 32) % 2_000_000),
            threshold: thresholds[(seed >> 96) % 4],
            windowStart: POLICY_START,
            windowEnd: (seed >> 100) % 4 == 0 ? POLICY_START + 365 days : POLICY_END,
            effectiveFrom: effectiveFrom
        });
    }

    function _documentPolicy() internal pure returns (IPolicyRegistry.RuleUpdate[] memory updates) {
        updates = new IPolicyRegistry.RuleUpdate[](8);
        updates[0] = _update(RuleIds.R11_LANDING, 2000, 0, LANDING_THRESHOLD);
        updates[1] = _update(RuleIds.R15_USER, 1000, 0, 0);
        updates[2] = _update(RuleIds.R15_PROVIDER, 500, 0, 0);
        updates[3] = _update(RuleIds.R3_LICENSOR, 100, 0, 0);
        updates[4] = _update(RuleIds.R3_LICENSEE, 100, 0, 0);
        updates[5] = _update(RuleIds.R11_SME, 0, 1_000_000, 20_000_000);
        updates[6] = _update(RuleIds.R6_TALENT, 0, 500_000, 0);
        updates[7] = _update(RuleIds.R16_BROKER, 50, 0, 0);
    }

    function _update(bytes32 ruleId, uint16 rateBps, uint48 amount, uint48 threshold)
        internal
        pure
        returns (IPolicyRegistry.RuleUpdate memory)
    {
        return IPolicyRegistry.RuleUpdate({
            ruleId: ruleId,
            rateBps: rateBps,
            amount: amount,
            threshold: threshold,
            windowStart: POLICY_START,
            windowEnd: POLICY_END,
            effectiveFrom: POLICY_START
        });
    }

    function _publish(IPolicyRegistry.RuleUpdate[] memory updates) internal {
        VM.prank(REGULATOR);
        policy.publish("mkj-2026", updates);
        _ghostPublish(updates);
    }

    function _ghostPublish(IPolicyRegistry.RuleUpdate[] memory updates) internal {
        for (uint256 i = 0; i < updates.length; ++i) {
            _rules[updates[i].ruleId].push(updates[i]);
        }
    }

    /// @dev The latest published version whose effective date is on or before `date`.
    function _ruleAt(bytes32 ruleId, uint256 date)
        internal
        view
        returns (bool, IPolicyRegistry.RuleUpdate memory)
    {
        IPolicyRegistry.RuleUpdate[] storage history = _rules[ruleId];
        IPolicyRegistry.RuleUpdate memory none;
        bool found = false;
        for (uint256 i = 0; i < history.length; ++i) {
            if (history[i].effectiveFrom <= date) {
                none = history[i];
                found = true;
            }
        }
        return (found, none);
    }

    function _inWindow(IPolicyRegistry.RuleUpdate memory r, uint256 date) internal pure returns (bool) {
        return r.windowStart <= date && date <= r.windowEnd;
    }

    // =====================================================================================
    // Small helpers
    // =====================================================================================

    function _enrol(uint256 i) internal {
        VM.prank(REGULATOR);
        membership.enrol(actors[i], _kinds[i], _inRegion[i], keccak256(abi.encode(i)), bytes32(i + 1));
        ghostStatus[actors[i]] = MemberStatus.Active;
        _ghostKind[actors[i]] = _kinds[i];
    }

    function _regionOf(address account) internal view returns (bool) {
        for (uint256 i = 0; i < ACTORS; ++i) {
            if (actors[i] == account) return _inRegion[i];
        }
        return false;
    }

    function _contractById(bytes32 id) internal view returns (GhostContract storage) {
        for (uint256 i = 0; i < _contracts.length; ++i) {
            if (_contracts[i].id == id) return _contracts[i];
        }
        revert("unknown contract in the ghost");
    }

    /// @dev A left-aligned bytes32 name as a string without its padding.
    function _name(bytes32 word) internal pure returns (string memory) {
        uint256 length = 0;
        while (length < 32 && word[length] != 0) ++length;
        bytes memory out = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            out[i] = word[i];
        }
        return string(out);
    }

    function _nextId(string memory kind) internal returns (bytes32) {
        return keccak256(abi.encode(kind, ++_nonce));
    }

    /// @dev A date between `from` and now.
    function _pastDate(uint40 from, uint256 seed) internal view returns (uint40) {
        if (from >= block.timestamp) return uint40(block.timestamp);
        return uint40(from + seed % (block.timestamp - from + 1));
    }

    function _noteRecorded(uint40 date) internal {
        if (date > _latestRecorded) _latestRecorded = date;
    }

    /// @dev Beijing calendar year from the table of New Year instants (UTC+8), 2025 to 2030.
    function _beijingYear(uint256 t) internal pure returns (uint16) {
        if (t < 1_767_196_800) return 2025;
        if (t < 1_798_732_800) return 2026;
        if (t < 1_830_268_800) return 2027;
        if (t < 1_861_891_200) return 2028;
        if (t < 1_893_427_200) return 2029;
        return 2030;
    }

    /// @dev A privileged write with arguments that would succeed for the right caller.
    function _privilegedCall(uint256 seed, bool operatorWork) internal returns (address, bytes memory) {
        address someone = actors[seed % ACTORS];
        if (operatorWork) {
            uint256 pick = (seed >> 8) % 7;
            if (pick == 0 && _contracts.length > 0) {
                (Settlement memory s,) = _newSettlement(seed, seed >> 32, 0, seed >> 64);
                return (address(ledger), abi.encodeCall(ISettlementLedger.record, (s)));
            }
            if (pick == 1 && _contracts.length > 0) {
                Settlement[] memory batch = new Settlement[](1);
                (batch[0],) = _newSettlement(seed, seed >> 32, 0, seed >> 64);
                return (address(ledger), abi.encodeCall(ISettlementLedger.recordBatch, (batch)));
            }
            if (pick == 2) {
                IContractRegistry.ContractInput[] memory group = new IContractRegistry.ContractInput[](1);
                group[0] = _contractInput(seed, 0, 2, 1);
                if ((seed >> 128) % 2 == 1) {
                    return (address(registry), abi.encodeCall(IContractRegistry.registerContracts, (group)));
                }
                return (address(registry), abi.encodeCall(IContractRegistry.registerContract, (group[0])));
            }
            if (pick == 3) {
                bytes memory data = abi.encodeCall(IContractRegistry.registerInstrument, ("other", someone, 1e9));
                return (address(registry), data);
            }
            if (pick == 4) {
                bytes32 id = _nextId("attestation");
                AppointmentTitle title = AppointmentTitle.IndustryProfessor;
                return (address(ledger), abi.encodeCall(ISettlementLedger.attestAppointment, (id, someone, title, 1)));
            }
            if (pick == 5 && _contracts.length > 0) {
                bytes32 id = _contracts[seed % _contracts.length].id;
                return (address(registry), abi.encodeCall(IContractRegistry.achieveMilestone, (id, 0, 1)));
            }
            return (
                address(ledger),
                abi.encodeCall(ISettlementLedger.attestStartupRevenue, (_nextId("a"), someone, 2026, 1e9, 1))
            );
        }
        uint256 choice = (seed >> 8) % 9;
        if (choice == 0) return (address(membership), abi.encodeCall(IMembership.suspend, (someone)));
        if (choice == 1) return (address(membership), abi.encodeCall(IMembership.reinstate, (someone)));
        if (choice == 2) return (address(membership), abi.encodeCall(IMembership.appointOperator, (someone)));
        if (choice == 3) return (address(membership), abi.encodeCall(IMembership.removeOperator, (OPERATOR)));
        if (choice == 4) {
            return (
                address(membership),
                abi.encodeCall(IMembership.enrol, (address(uint160(seed | 1)), MemberKind.Enterprise, true, 0, 0))
            );
        }
        if (choice == 5) return (address(policy), abi.encodeCall(IPolicyRegistry.publish, ("x", _documentPolicy())));
        if (choice == 6) {
            return (address(points), abi.encodeCall(IPoints.issue, (someone, 1, RuleIds.R11_LANDING, 1, "forged")));
        }
        if (choice == 7 && _contracts.length > 0) {
            bytes32 id = _contracts[seed % _contracts.length].id;
            return (address(registry), abi.encodeCall(IContractRegistry.applyPayment, (id, 0, 0, 1, 1)));
        }
        return (address(points), abi.encodeCall(IPointsToken.transfer, (someone, 0)));
    }
}
