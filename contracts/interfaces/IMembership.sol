// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MemberKind, MemberStatus} from "../libraries/LedgerTypes.sol";

/// @title Permissioned membership of the technology market
/// @notice The regulator enrols, suspends and reinstates members and appoints operators.
/// Roles are OpenZeppelin AccessControl roles: the regulator holds DEFAULT_ADMIN_ROLE.
interface IMembership {
    /// @notice One enrolled account.
    /// @param usccHash keccak256 of the unified social credit code (zero for individuals)
    /// @param certFingerprint SHA-256 of the member's DER-encoded X.509 certificate
    struct Member {
        MemberKind kind;
        MemberStatus status;
        bool inRegion;
        bytes32 usccHash;
        bytes32 certFingerprint;
    }

    /// @notice Kind, status and region of an account: one storage slot, for the award rules.
    struct Profile {
        MemberKind kind;
        MemberStatus status;
        bool inRegion;
    }

    error MemberAlreadyEnrolled(address account);
    error UnknownMember(address account);
    error MemberAlreadySuspended(address account);
    error MemberNotSuspended(address account);
    error InvalidMemberKind(address account);
    /// @notice An operator's account enrolled as a member that trades (any kind but operator or regulator).
    error OperatorCannotTrade(address account);
    /// @notice A member that trades appointed operator: it could record the payments that earn it points.
    error MemberCannotOperate(address account);
    error ZeroAddress();

    event MemberEnrolled(
        address indexed account, MemberKind kind, bool inRegion, bytes32 usccHash, bytes32 certFingerprint
    );
    event MemberSuspended(address indexed account);
    event MemberReinstated(address indexed account);
    event OperatorAppointed(address indexed account);
    event OperatorRemoved(address indexed account);

    /// @notice Enrol `account` as an active member. Regulator only. An operator's account is enrolled only
    /// as an operator or regulator: one that trades could record the payments that earn it points.
    function enrol(address account, MemberKind kind, bool inRegion, bytes32 usccHash, bytes32 certFingerprint)
        external;

    /// @notice Suspend an active member: it can no longer act or join new contracts. Regulator only.
    function suspend(address account) external;

    /// @notice Reinstate a suspended member. Regulator only.
    function reinstate(address account) external;

    /// @notice Grant the operator role. Regulator only. Not to a member that trades on the market.
    function appointOperator(address account) external;

    /// @notice Revoke the operator role. Regulator only.
    function removeOperator(address account) external;

    function memberOf(address account) external view returns (Member memory);

    /// @notice The profile of an account (all zero for an account that was never enrolled).
    function profileOf(address account) external view returns (Profile memory);

    function isActive(address account) external view returns (bool);

    function isOperator(address account) external view returns (bool);

    function isRegulator(address account) external view returns (bool);

    function memberCount() external view returns (uint256);

    function memberAt(uint256 index) external view returns (address);
}
