// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Calendar years in Beijing time (UTC+8)
/// @notice The policy counts per calendar year in Beijing time: 2026-12-31T16:00:00Z is already 2027.
library BeijingCalendar {
    /// @notice Beijing time is UTC+8 all year (no daylight saving).
    uint256 internal constant UTC_OFFSET_SECONDS = 8 hours;
    uint256 internal constant SECONDS_PER_DAY = 1 days;
    /// @notice Four Gregorian years hold 1,461 days as long as no century year falls inside them.
    uint256 internal constant DAYS_PER_FOUR_YEARS = 1461;
    /// @notice Days from 1970-01-01 to 2100-03-01, the first day the four-year rule gets wrong.
    uint256 internal constant DAYS_UNTIL_2100_03_01 = 47_541;

    /// @notice A date at or after 2100-03-01 (Beijing), outside the calendar this library covers.
    error DateBeyondCalendar(uint256 timestamp);

    /// @notice The Beijing calendar year of a unix timestamp from 1970 to 2100-02-28.
    /// @dev Counts whole four-year blocks from 1970 (365, 365, 366, 365 days: 1972 is the leap year
    /// of the first block), then the years inside the last block.
    function yearOf(uint256 timestamp) internal pure returns (uint16) {
        uint256 day = (timestamp + UTC_OFFSET_SECONDS) / SECONDS_PER_DAY;
        if (day >= DAYS_UNTIL_2100_03_01) revert DateBeyondCalendar(timestamp);
        uint256 intoBlock = day % DAYS_PER_FOUR_YEARS;
        // (day - intoBlock) is a whole number of blocks, so this division is exact.
        uint256 year = 1970 + ((day - intoBlock) * 4) / DAYS_PER_FOUR_YEARS;
        if (intoBlock >= 365 + 365 + 366) return uint16(year + 3);
        if (intoBlock >= 365 + 365) return uint16(year + 2);
        if (intoBlock >= 365) return uint16(year + 1);
        return uint16(year);
    }
}
