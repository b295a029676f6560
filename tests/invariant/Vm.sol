// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The few forge cheatcodes the invariant suite uses
/// @dev The npm forge-std is too old for invariant helpers, so the suite declares what it needs.
interface Vm {
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    function warp(uint256 timestamp) external;
    function prank(address caller) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory logs);
    function deployCode(string calldata artifact, bytes calldata args) external returns (address deployed);
}

/// @dev The address at which forge answers cheatcodes.
Vm constant VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
