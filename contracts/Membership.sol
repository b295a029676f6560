// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {MemberKind, MemberStatus} from "./libraries/LedgerTypes.sol";

/// @title Membership
/// @notice Members of the market and the operator role; the regulator is the role admin.
contract Membership is AccessControl, IMembership {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    mapping(address account => Member) private _members;
    address[] private _accounts;

    constructor(address regulator) {
        if (regulator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, regulator);
    }

    /// @inheritdoc IMembership
    function enrol(address account, MemberKind kind, bool inRegion, bytes32 usccHash, bytes32 certFingerprint)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (account == address(0)) revert ZeroAddress();
        if (kind == MemberKind.None) revert InvalidMemberKind(account);
        if (_members[account].status != MemberStatus.None) revert MemberAlreadyEnrolled(account);
        // An operator records the payments that earn points: its account is never a member that trades.
        if (!_isStaff(kind) && hasRole(OPERATOR_ROLE, account)) revert OperatorCannotTrade(account);
        _members[account] = Member({
            kind: kind,
            status: MemberStatus.Active,
            inRegion: inRegion,
            usccHash: usccHash,
            certFingerprint: certFingerprint
        });
        _accounts.push(account);
        emit MemberEnrolled(account, kind, inRegion, usccHash, certFingerprint);
    }

    /// @inheritdoc IMembership
    function suspend(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Member storage member = _existing(account);
        if (member.status == MemberStatus.Suspended) revert MemberAlreadySuspended(account);
        member.status = MemberStatus.Suspended;
        emit MemberSuspended(account);
    }

    /// @inheritdoc IMembership
    function reinstate(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Member storage member = _existing(account);
        if (member.status != MemberStatus.Suspended) revert MemberNotSuspended(account);
        member.status = MemberStatus.Active;
        emit MemberReinstated(account);
    }

    /// @inheritdoc IMembership
    function appointOperator(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (account == address(0)) revert ZeroAddress();
        if (!_isStaff(_members[account].kind)) revert MemberCannotOperate(account);
        if (_grantRole(OPERATOR_ROLE, account)) emit OperatorAppointed(account);
    }

    /// @inheritdoc IMembership
    function removeOperator(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_revokeRole(OPERATOR_ROLE, account)) emit OperatorRemoved(account);
    }

    /// @inheritdoc IMembership
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IMembership
    function profileOf(address account) external view returns (Profile memory) {
        Member storage member = _members[account];
        return Profile({kind: member.kind, status: member.status, inRegion: member.inRegion});
    }

    /// @inheritdoc IMembership
    function isActive(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    /// @inheritdoc IMembership
    function isOperator(address account) external view returns (bool) {
        return hasRole(OPERATOR_ROLE, account);
    }

    /// @inheritdoc IMembership
    function isRegulator(address account) external view returns (bool) {
        return hasRole(DEFAULT_ADMIN_ROLE, account);
    }

    /// @inheritdoc IMembership
    function memberCount() external view returns (uint256) {
        return _accounts.length;
    }

    /// @inheritdoc IMembership
    function memberAt(uint256 index) external view returns (address) {
        return _accounts[index];
    }

    /// @dev Not a member, or a member of the market's own staff: the kinds an operator's account may have.
    function _isStaff(MemberKind kind) private pure returns (bool) {
        return kind == MemberKind.None || kind == MemberKind.Operator || kind == MemberKind.Regulator;
    }

    function _existing(address account) private view returns (Member storage member) {
        member = _members[account];
        if (member.status == MemberStatus.None) revert UnknownMember(account);
    }
}
