// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMembership} from "./interfaces/IMembership.sol";
import {IPoints} from "./interfaces/IPoints.sol";
import {LedgerAccess} from "./LedgerAccess.sol";

/// @title Points
/// @notice Non-transferable MKJ points (蒙科聚积分), in centipoints.
contract Points is LedgerAccess, IPoints {
    string public constant name = "MKJ Points";
    string public constant symbol = "MKJP";
    /// @notice One point is 100 centipoints.
    uint8 public constant decimals = 2;

    mapping(address member => uint256 centipoints) private _balances;
    uint256 private _totalIssued;
    uint256 private _totalRedeemed;
    address private _issuer;

    constructor(IMembership membership_) LedgerAccess(membership_) {}

    /// @notice Name the settlement ledger, the only issuer. Regulator only, once.
    function wireIssuer(address issuer) external onlyRegulator {
        if (_issuer != address(0)) revert AlreadyWired();
        if (issuer == address(0)) revert WiredToZeroAddress();
        _issuer = issuer;
    }

    /// @inheritdoc IPoints
    function issue(address member, uint256 amount, bytes32 ruleId, uint24 policyVersion, bytes32 source) external {
        if (msg.sender != _issuer) revert CallerNotLedger(msg.sender);
        _balances[member] += amount;
        _totalIssued += amount;
        emit Transfer(address(0), member, amount);
        emit PointsIssued(member, ruleId, source, amount, policyVersion);
    }

    /// @inheritdoc IPoints
    function redeem(uint256 amount, string calldata purpose) external {
        if (!_membership.isActive(msg.sender)) revert MemberNotActive(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (bytes(purpose).length == 0) revert EmptyPurpose();
        uint256 balance = _balances[msg.sender];
        if (amount > balance) revert InsufficientPoints(msg.sender, balance, amount);
        // amount <= balance, checked just above.
        unchecked {
            _balances[msg.sender] = balance - amount;
        }
        _totalRedeemed += amount;
        emit Transfer(msg.sender, address(0), amount);
        emit PointsRedeemed(msg.sender, amount, purpose);
    }

    function totalSupply() external view returns (uint256) {
        return _totalIssued - _totalRedeemed;
    }

    function balanceOf(address member) external view returns (uint256) {
        return _balances[member];
    }

    /// @inheritdoc IPoints
    function totalIssued() external view returns (uint256) {
        return _totalIssued;
    }

    /// @inheritdoc IPoints
    function totalRedeemed() external view returns (uint256) {
        return _totalRedeemed;
    }

    function allowance(address, address) external pure returns (uint256) {
        return 0;
    }

    function transfer(address, uint256) external pure returns (bool) {
        revert PointsNotTransferable();
    }

    function transferFrom(address, address, uint256) external pure returns (bool) {
        revert PointsNotTransferable();
    }

    function approve(address, uint256) external pure returns (bool) {
        revert PointsNotTransferable();
    }
}
