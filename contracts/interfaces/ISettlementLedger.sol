// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AppointmentTitle, Settlement, SettlementKind} from "../libraries/LedgerTypes.sol";

/// @title Settlements and attestations, and the points they earn
/// @notice Records every payment exactly once (by its reference) and, in the same transaction,
/// issues the points that the policy version in force on the payment date awards for it.
interface ISettlementLedger {
    /// @notice The reference was already recorded with different data.
    error DuplicatePayment(bytes32 ref);
    /// @notice The attestation id was already recorded with different data.
    error DuplicateAttestation(bytes32 attestationId);
    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error EmptyReference();
    error DatedInFuture(uint40 date, uint256 now_);
    error NotAnEnterprise(address member);
    /// @notice A start-up's revenue for a year that had not begun (in Beijing) on the attestation's date.
    error RevenueYearAhead(uint16 year, uint40 at);
    error NotAMember(address account);
    error EmptyBatch();

    event SettlementRecorded(
        bytes32 indexed ref,
        bytes32 indexed contractId,
        uint32 milestone,
        bytes32 period,
        uint256 amount,
        SettlementKind kind,
        uint40 paidAt,
        bytes32 evidenceHash
    );
    /// @notice An identical resend of a recorded settlement: nothing changed.
    event SettlementReplayed(bytes32 indexed ref);
    event StartupRevenueAttested(
        bytes32 indexed attestationId, address indexed member, uint16 year, uint256 revenue, uint40 attestedAt
    );
    event AppointmentAttested(
        bytes32 indexed attestationId, address indexed member, AppointmentTitle title, uint40 attestedAt
    );
    event AttestationReplayed(bytes32 indexed attestationId);

    /// @notice Record one settlement; an identical resend is a replay. Operator only.
    function record(Settlement calldata settlement) external returns (bool replayed);

    /// @notice Record many settlements, all or nothing. Operator only.
    function recordBatch(Settlement[] calldata settlements) external returns (uint256 replays);

    /// @notice Attest that an enterprise member reached `revenue` fen of revenue in `year`. Operator only.
    function attestStartupRevenue(bytes32 attestationId, address member, uint16 year, uint256 revenue, uint40 at)
        external
        returns (bool replayed);

    /// @notice Attest an appointment as tech vice-president or industry professor. Operator only.
    function attestAppointment(bytes32 attestationId, address member, AppointmentTitle title, uint40 at)
        external
        returns (bool replayed);

    /// @notice keccak256 of the recorded data under `ref`, or zero when nothing is recorded.
    function recordedHash(bytes32 ref) external view returns (bytes32);

    function latestRecordedDate() external view returns (uint40);
}
