// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Shared enums and records of the settlement ledger
/// @notice Every enum is mirrored one-to-one by a Python `Enum` in `ledger/domain/types.py`;
/// the numeric values are part of the ABI and never change.

/// @notice What an enrolled account is. `None` marks an account that was never enrolled.
enum MemberKind {
    None,
    University,
    Institute,
    Enterprise,
    InstrumentProvider,
    Broker,
    Individual,
    Operator,
    Regulator
}

enum MemberStatus {
    None,
    Active,
    Suspended
}

enum ContractKind {
    Transfer,
    License,
    Equity,
    Service,
    Development
}

enum PaymentPlan {
    LumpSum,
    Staged,
    ZeroUpfrontStagedRoyalty,
    Deferred
}

/// @notice How a settlement was received: money, or the agreed valuation of equity.
enum SettlementKind {
    Cash,
    Equity
}

enum AppointmentTitle {
    TechVicePresident,
    IndustryProfessor
}

/// @notice One payment (or equity valuation) received on a technology contract.
/// @dev `period == 0` means a milestone payment; otherwise a royalty payment for that period
/// and `milestone` is ignored. `milestone == MILESTONE_UNSPECIFIED` lets the ledger pick the
/// only milestone of a single-milestone contract. Amounts are fen; `paidAt` is unix seconds.
struct Settlement {
    bytes32 ref;
    bytes32 contractId;
    uint32 milestone;
    bytes32 period;
    uint256 amount;
    SettlementKind kind;
    uint40 paidAt;
    bytes32 evidenceHash;
}

/// @notice One version of one rule's parameters.
/// @dev Packed into a single storage slot (2+6+6+5+5+5+3 = 32 bytes).
struct RuleParams {
    uint16 rateBps;
    uint48 amount; // centipoints, for fixed-award rules
    uint48 threshold; // fen, inclusive
    uint40 windowStart; // unix seconds, inclusive
    uint40 windowEnd; // unix seconds, inclusive
    uint40 effectiveFrom; // unix seconds: applies to facts dated from here on
    uint24 version;
}
