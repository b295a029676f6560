// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The rule identifiers of the points policy
/// @notice Each id is the rule's name as a left-aligned bytes32 string, readable in events.
library RuleIds {
    bytes32 internal constant R11_LANDING = "R11-LANDING";
    bytes32 internal constant R15_USER = "R15-USER";
    bytes32 internal constant R15_PROVIDER = "R15-PROVIDER";
    bytes32 internal constant R3_LICENSOR = "R3-LICENSOR";
    bytes32 internal constant R3_LICENSEE = "R3-LICENSEE";
    bytes32 internal constant R11_SME = "R11-SME";
    bytes32 internal constant R6_TALENT = "R6-TALENT";
    bytes32 internal constant R16_BROKER = "R16-BROKER";

    function isKnown(bytes32 ruleId) internal pure returns (bool) {
        return ruleId == R11_LANDING || ruleId == R15_USER || ruleId == R15_PROVIDER || ruleId == R3_LICENSOR
            || ruleId == R3_LICENSEE || ruleId == R11_SME || ruleId == R6_TALENT || ruleId == R16_BROKER;
    }
}
