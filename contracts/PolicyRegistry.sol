// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMembership} from "./interfaces/IMembership.sol";
import {IPolicyRegistry, IRecordClock} from "./interfaces/IPolicyRegistry.sol";
import {LedgerAccess} from "./LedgerAccess.sol";
import {AwardMath} from "./libraries/AwardMath.sol";
import {RuleParams} from "./libraries/LedgerTypes.sol";
import {RuleIds} from "./libraries/RuleIds.sol";

/// @title PolicyRegistry
/// @notice Append-only history of the points policy, rule by rule.
contract PolicyRegistry is LedgerAccess, IPolicyRegistry {
    mapping(bytes32 ruleId => RuleParams[] versions) private _history;
    mapping(uint24 version => bytes32 sourceHash) private _sources;
    uint24 private _versionCount;
    IRecordClock private _clock;

    constructor(IMembership membership_) LedgerAccess(membership_) {}

    /// @notice Name the contract whose records a new version may not predate. Regulator only, once.
    function wireRecordClock(IRecordClock clock) external onlyRegulator {
        if (address(_clock) != address(0)) revert AlreadyWired();
        if (address(clock) == address(0)) revert WiredToZeroAddress();
        _clock = clock;
    }

    /// @inheritdoc IPolicyRegistry
    function publish(bytes32 sourceHash, RuleUpdate[] calldata updates) external onlyRegulator returns (uint24) {
        if (updates.length == 0) revert EmptyPolicyVersion();
        uint40 latest = address(_clock) == address(0) ? 0 : _clock.latestRecordedDate();
        uint24 version = ++_versionCount;
        _sources[version] = sourceHash;
        for (uint256 i = 0; i < updates.length; ++i) {
            RuleUpdate calldata u = updates[i];
            if (!RuleIds.isKnown(u.ruleId)) revert UnknownRule(u.ruleId);
            if (u.rateBps > AwardMath.BPS_DENOMINATOR) revert RateAboveHundredPercent(u.ruleId, u.rateBps);
            if (u.windowEnd < u.windowStart) revert InvalidPolicyWindow(u.ruleId, u.windowStart, u.windowEnd);
            if (u.effectiveFrom < latest) revert PolicyRetroactive(u.ruleId, u.effectiveFrom, latest);
            _history[u.ruleId].push(
                RuleParams({
                    rateBps: u.rateBps,
                    amount: u.amount,
                    threshold: u.threshold,
                    windowStart: u.windowStart,
                    windowEnd: u.windowEnd,
                    effectiveFrom: u.effectiveFrom,
                    version: version
                })
            );
            emit RuleVersionPublished(
                u.ruleId, version, u.rateBps, u.amount, u.threshold, u.windowStart, u.windowEnd, u.effectiveFrom
            );
        }
        emit PolicyVersionPublished(version, sourceHash, updates.length);
        return version;
    }

    /// @inheritdoc IPolicyRegistry
    function ruleAt(bytes32 ruleId, uint256 date) external view returns (bool found, RuleParams memory params) {
        RuleParams[] storage versions = _history[ruleId];
        // The version published last among those in force on the date wins: one taking effect before a
        // version published earlier supersedes it from its own date on.
        for (uint256 i = versions.length; i > 0; --i) {
            RuleParams memory candidate = versions[i - 1];
            if (candidate.effectiveFrom <= date) return (true, candidate);
        }
        return (false, params);
    }

    /// @inheritdoc IPolicyRegistry
    function versionCount() external view returns (uint24) {
        return _versionCount;
    }

    /// @inheritdoc IPolicyRegistry
    function sourceHashOf(uint24 version) external view returns (bytes32) {
        return _sources[version];
    }

    /// @inheritdoc IPolicyRegistry
    function ruleHistory(bytes32 ruleId) external view returns (RuleParams[] memory) {
        return _history[ruleId];
    }
}
