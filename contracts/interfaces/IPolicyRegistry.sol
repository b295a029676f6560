// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {RuleParams} from "../libraries/LedgerTypes.sol";

/// @title Published versions of the points policy
/// @notice Each published version carries the hash of the document it came from and one or more
/// rule updates. A version never changes once published and never applies retroactively.
interface IPolicyRegistry {
    /// @notice One rule's parameters as published in a version.
    struct RuleUpdate {
        bytes32 ruleId;
        uint16 rateBps;
        uint48 amount;
        uint48 threshold;
        uint40 windowStart;
        uint40 windowEnd;
        uint40 effectiveFrom;
    }

    error UnknownRule(bytes32 ruleId);
    error EmptyPolicyVersion();
    error RateAboveHundredPercent(bytes32 ruleId, uint16 rateBps);
    error InvalidPolicyWindow(bytes32 ruleId, uint40 windowStart, uint40 windowEnd);
    /// @notice The version would apply to facts already recorded.
    error PolicyRetroactive(bytes32 ruleId, uint40 effectiveFrom, uint40 latestRecorded);

    event PolicyVersionPublished(uint24 indexed version, bytes32 sourceHash, uint256 ruleCount);
    event RuleVersionPublished(
        bytes32 indexed ruleId,
        uint24 indexed version,
        uint16 rateBps,
        uint48 amount,
        uint48 threshold,
        uint40 windowStart,
        uint40 windowEnd,
        uint40 effectiveFrom
    );

    /// @notice Publish a new version. Regulator only.
    function publish(bytes32 sourceHash, RuleUpdate[] calldata updates) external returns (uint24 version);

    /// @notice The parameters of `ruleId` in force for a fact dated `date`: those of the version
    /// published last among those effective on or before it; `found` is false when none is.
    function ruleAt(bytes32 ruleId, uint256 date) external view returns (bool found, RuleParams memory params);

    function versionCount() external view returns (uint24);

    function sourceHashOf(uint24 version) external view returns (bytes32);

    function ruleHistory(bytes32 ruleId) external view returns (RuleParams[] memory);
}

/// @title Where the policy registry learns the latest date already recorded
interface IRecordClock {
    function latestRecordedDate() external view returns (uint40);
}
