// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The cumulative award formula of the points policy
/// @notice For a basis amount B (fen) the award is f(B) = B >= threshold ? floor(B * bps / 10000) : 0
/// (in centipoints: 1 fen of basis at 100% is 1 centipoint). A payment that moves the basis from
/// B0 to B1 earns f(B1) - f(B0), so the total never depends on how payments were split.
library AwardMath {
    /// @notice 100% expressed in basis points.
    uint256 internal constant BPS_DENOMINATOR = 10_000;

    function cumulative(uint256 basis, uint256 rateBps, uint256 threshold) internal pure returns (uint256) {
        if (basis < threshold) return 0;
        return (basis * rateBps) / BPS_DENOMINATOR;
    }

    /// @notice The award earned by moving the basis from `before` to `after_`.
    function delta(uint256 before, uint256 after_, uint256 rateBps, uint256 threshold)
        internal
        pure
        returns (uint256)
    {
        // f is non-decreasing in the basis, so the difference is never negative.
        return cumulative(after_, rateBps, threshold) - cumulative(before, rateBps, threshold);
    }
}
