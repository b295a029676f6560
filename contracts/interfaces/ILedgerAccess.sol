// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Errors shared by every contract that checks roles held in the Membership contract
interface ILedgerAccess {
    /// @notice The caller does not hold the operator role.
    error CallerNotOperator(address caller);
    /// @notice The caller is not the regulator.
    error CallerNotRegulator(address caller);
    /// @notice The caller is not the ledger contract allowed to make this call.
    error CallerNotLedger(address caller);
    /// @notice A one-time wiring call was made twice.
    error AlreadyWired();
    /// @notice A one-time wiring call named the zero address.
    error WiredToZeroAddress();
}
