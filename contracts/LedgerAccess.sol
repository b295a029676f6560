// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ILedgerAccess} from "./interfaces/ILedgerAccess.sol";
import {IMembership} from "./interfaces/IMembership.sol";

/// @title Role checks against the Membership contract, shared by the ledger's contracts
abstract contract LedgerAccess is ILedgerAccess {
    IMembership internal immutable _membership;

    constructor(IMembership membership_) {
        _membership = membership_;
    }

    modifier onlyOperator() {
        if (!_membership.isOperator(msg.sender)) revert CallerNotOperator(msg.sender);
        _;
    }

    modifier onlyRegulator() {
        if (!_membership.isRegulator(msg.sender)) revert CallerNotRegulator(msg.sender);
        _;
    }

    function membership() external view returns (IMembership) {
        return _membership;
    }
}
