// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IContractRegistry} from "ledger-contracts/interfaces/IContractRegistry.sol";
import {Settlement} from "ledger-contracts/libraries/LedgerTypes.sol";
import {LedgerHandler} from "./LedgerHandler.sol";

/// @title The ledger's promises, checked after every call of random operation sequences
/// @notice `forge test` runs each `invariant_*` function against random sequences of the handler's
/// actions (profiles in foundry.toml). docs/reliability.md says which invariant catches which bug.
contract LedgerInvariantsTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    LedgerHandler internal handler;

    function setUp() public {
        handler = new LedgerHandler();
    }

    /// @notice Forge fuzzes only the handler, and only its actions.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory targets) {
        bytes4[] memory actions = new bytes4[](17);
        actions[0] = LedgerHandler.enrol.selector;
        actions[1] = LedgerHandler.suspend.selector;
        actions[2] = LedgerHandler.reinstate.selector;
        actions[3] = LedgerHandler.advanceTime.selector;
        actions[4] = LedgerHandler.publishPolicy.selector;
        actions[5] = LedgerHandler.registerContract.selector;
        actions[6] = LedgerHandler.achieveMilestone.selector;
        actions[7] = LedgerHandler.reportRevenue.selector;
        actions[8] = LedgerHandler.settle.selector;
        actions[9] = LedgerHandler.settleBatch.selector;
        actions[10] = LedgerHandler.replay.selector;
        actions[11] = LedgerHandler.conflict.selector;
        actions[12] = LedgerHandler.attestStartupRevenue.selector;
        actions[13] = LedgerHandler.attestAppointment.selector;
        actions[14] = LedgerHandler.redeem.selector;
        actions[15] = LedgerHandler.unauthorized.selector;
        // Settlements are the heart of the ledger: give them twice the weight.
        actions[16] = LedgerHandler.settle.selector;
        targets = new FuzzSelector[](1);
        targets[0] = FuzzSelector({addr: address(handler), selectors: actions});
    }

    // ---- a scripted sequence: every action can succeed, and the ghost agrees with the policy text ----

    /// @notice The handler is not vacuous: each action reaches the ledger and is accepted when valid,
    /// and the ghost's award for a hand-worked case matches the policy (20% of 2,000,000.00 yuan).
    function test_everyActionReachesTheLedger() public {
        LedgerHandler h = handler;
        // Seed 771: kind 771 % 5 = 1 (licence), plan (771 >> 8) % 4 = 3 (deferred), one milestone of
        // exactly 2,000,000.00 yuan; a university seller, an in-region enterprise buyer, a broker.
        h.registerContract(771, 0, 2, 21);
        // The full amount, paid on 2026-01-25 (40 days after signing), inside the policy window.
        h.settle(0, 0, 0, 2 + (40 days << 8));
        h.replay(0);
        h.conflict(0, 0, 5);
        h.achieveMilestone(0, 0, 0);
        h.attestStartupRevenue(2, 1, 0, 1);
        h.attestStartupRevenue(0, 0, 0, 0); // resends the attestation above: a replay
        h.attestAppointment(0, true, 0, 1);
        h.enrol(6);
        h.enrol((uint256(7) << 128) | 2); // the operator's account enrolled as an enterprise: refused
        h.enrol((uint256(6) << 128) | 2); // an enrolled enterprise appointed operator: refused
        h.suspend(1);
        h.reinstate(1);
        h.publishPolicy(7, 0, false);
        h.redeem(0, 0, true);
        h.unauthorized(0, 0);
        h.unauthorized(1, 1);

        bytes32[13] memory mustPass = [
            bytes32("registerContract"),
            "settle",
            "replay",
            "achieveMilestone",
            "attestStartupRevenue",
            "resendAttestation",
            "attestAppointment",
            "enrol",
            "suspend",
            "reinstate",
            "publishPolicy",
            "redeem",
            "conflict"
        ];
        for (uint256 i = 0; i < mustPass.length - 1; ++i) {
            require(h.accepted(mustPass[i]) == 1, "an action the ledger must accept was not accepted");
        }
        require(h.calls("conflict") == 1 && h.accepted("conflict") == 0, "a conflicting resend was accepted");
        require(h.calls("unauthorized") == 2, "the unauthorized calls did not run");
        require(h.calls("enrolOperator") == 1 && h.accepted("enrolOperator") == 0, "an operator was enrolled to trade");
        require(h.calls("appointMember") == 1 && h.accepted("appointMember") == 0, "a trading member was appointed");

        address university = h.actors(0);
        require(h.expectedByRule(university, "R11-LANDING") == 40_000_000, "R11: 20% of 200,000,000 fen");
        require(h.issuedByRule(university, "R11-LANDING") == 40_000_000, "R11 issued on chain");
        require(h.issuedByRule(university, "R3-LICENSOR") == 2_000_000, "R3: 1% of 200,000,000 fen");
        require(h.issuedByRule(h.actors(5), "R16-BROKER") == 1_000_000, "R16: 0.5% of 200,000,000 fen");
        require(h.issuedByRule(h.actors(2), "R11-SME") == 1_000_000, "R11-SME: 10,000.00 points");
        require(h.issuedByRule(university, "R6-TALENT") == 500_000, "R6: 5,000.00 points");
        require(h.points().balanceOf(university) == 0, "the university redeemed everything");
        invariant_ledgerPromises();
    }

    // ---- invariants ----

    /// @notice Every promise below, checked after every call. One campaign checks them all: forge
    /// runs a separate campaign per invariant function, and seven campaigns cost seven times one.
    /// A failure names the promise it broke; the most specific checks come first, so that a bug is
    /// reported by its cause (a write without the role) rather than by its effect (a wrong total).
    function invariant_ledgerPromises() public view {
        _checkRoles();
        _checkSuspended();
        _checkExactlyOnce();
        _checkOutcomes();
        _checkMilestones();
        _checkFormula();
        _checkSupply();
    }

    /// @notice Sum of balances = issued − redeemed, and both totals are what the ghost expects.
    function _checkSupply() internal view {
        uint256 sum = handler.points().balanceOf(handler.REGULATOR()) + handler.points().balanceOf(handler.OPERATOR())
            + handler.points().balanceOf(handler.OUTSIDER());
        for (uint256 i = 0; i < 8; ++i) {
            sum += handler.points().balanceOf(handler.actors(i));
        }
        uint256 issued = handler.points().totalIssued();
        uint256 redeemed = handler.points().totalRedeemed();
        require(sum == issued - redeemed, "sum of balances differs from issued minus redeemed");
        require(sum == handler.points().totalSupply(), "sum of balances differs from the total supply");
        require(issued == handler.expectedIssued(), "points issued differ from the cumulative formula");
        require(redeemed == handler.expectedRedeemed(), "points redeemed differ from the accepted redemptions");
    }

    /// @notice Every member's points, rule by rule, are the cumulative formula over the accepted
    /// settlements and attestations, and every issuance names the payment behind it.
    function _checkFormula() internal view {
        bytes32[8] memory rules = handler.ruleIds();
        for (uint256 i = 0; i < 8; ++i) {
            address member = handler.actors(i);
            for (uint256 r = 0; r < rules.length; ++r) {
                require(
                    handler.issuedByRule(member, rules[r]) == handler.expectedByRule(member, rules[r]),
                    "a member's points under a rule differ from the cumulative formula"
                );
            }
            require(
                handler.points().balanceOf(member) == handler.expectedBalance(member),
                "a member's balance differs from the ghost"
            );
        }
        require(handler.issuanceWithoutSource() == 0, "an issuance named no settlement or attestation of its call");
    }

    /// @notice A reference is counted at most once: replays change nothing, conflicting resends are
    /// refused, and each contract's received amount is the sum of its accepted payments.
    function _checkExactlyOnce() internal view {
        require(handler.doubleCounted() == 0, "a reference was counted twice");
        require(handler.replayChangedPoints() == 0, "a replay or a refused call changed the points");
        uint256 n = handler.acceptedSettlements();
        for (uint256 i = 0; i < n; ++i) {
            Settlement memory s = handler.acceptedAt(i);
            require(
                handler.ledger().recordedHash(s.ref) == keccak256(abi.encode(s)),
                "an accepted settlement is not recorded under its reference"
            );
        }
        for (uint256 i = 0; i < handler.contractCount(); ++i) {
            LedgerHandler.GhostContract memory c = handler.ghostContract(i);
            require(
                handler.registry().contractOf(c.id).received == c.received,
                "a contract's received amount differs from its accepted payments"
            );
        }
    }

    /// @notice No write by a caller without the role ever succeeds.
    function _checkRoles() internal view {
        require(handler.unauthorizedSuccesses() == 0, "a write without the role succeeded");
    }

    /// @notice Milestones only move forward: the chain equals the ghost, which never goes back.
    function _checkMilestones() internal view {
        for (uint256 i = 0; i < handler.contractCount(); ++i) {
            LedgerHandler.GhostContract memory c = handler.ghostContract(i);
            for (uint256 m = 0; m < c.milestoneCount; ++m) {
                LedgerHandler.GhostMilestone memory g = handler.ghostMilestone(c.id, m);
                IContractRegistry.MilestoneView memory v = handler.registry().milestoneOf(c.id, m);
                require(v.achieved == g.achieved, "a milestone's achievement differs from its history");
                require(v.paid == g.paid, "a milestone's paid amount differs from its payments");
                require(v.paid <= v.due, "a milestone was paid more than it is due");
            }
        }
    }

    /// @notice A suspended member's balance never grows.
    function _checkSuspended() internal view {
        require(handler.pointsToSuspended() == 0, "points were issued to a suspended member");
    }

    /// @notice The ledger accepts exactly what the rules allow and refuses the rest.
    function _checkOutcomes() internal view {
        require(handler.outcomeMismatches() == 0, handler.firstMismatch());
    }
}
