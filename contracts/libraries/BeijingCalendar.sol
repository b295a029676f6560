// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Calendar years in Beijing time (UTC+8)
/// @notice The policy counts per calendar year in Beijing time: 2026-12-31T16:00:00Z is already 2027.
library BeijingCalendar {
    /// @notice Beijing time is UTC+8 all year (no daylight saving).
    uint256 internal constant UTC_OFFSET_SECONDS = 8 hours;
    uint256 internal constant SECONDS_PER_DAY = 1 days;

    /// @notice The Beijing calendar year of a unix timestamp.
    /// @dev Civil-from-days (H. Hinnant), restricted to dates after 1970 so all values stay unsigned.
    function yearOf(uint256 timestamp) internal pure returns (uint16) {
        uint256 z = (timestamp + UTC_OFFSET_SECONDS) / SECONDS_PER_DAY + 719_468;
        uint256 era = z / 146_097;
        uint256 doe = z - era * 146_097;
        uint256 yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        uint256 mp = (5 * doy + 2) / 153;
        uint256 year = yoe + era * 400;
        // Months are counted from March: January and February belong to the next civil year.
        if (mp >= 10) year += 1;
        return uint16(year);
    }
}
