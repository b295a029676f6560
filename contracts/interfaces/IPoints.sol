// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title MKJ points: a non-transferable balance per member
/// @notice ERC-20 views (2 decimals: one point is 100 centipoints) so that wallets can show
/// balances; every transfer and approval is refused. Points are issued only by the settlement
/// ledger and redeemed (burnt) by their holder.
interface IPoints {
    error PointsNotTransferable();
    error ZeroAmount();
    error MemberNotActive(address member);
    error InsufficientPoints(address member, uint256 balance, uint256 requested);
    error EmptyPurpose();

    /// @notice ERC-20 compatible mint and burn notices (from or to the zero address).
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    /// @notice Points issued under `ruleId` of `policyVersion` for the settlement or attestation `source`.
    event PointsIssued(
        address indexed member, bytes32 indexed ruleId, bytes32 indexed source, uint256 amount, uint24 policyVersion
    );
    event PointsRedeemed(address indexed member, uint256 amount, string purpose);

    /// @notice Issue points. Settlement ledger only.
    function issue(address member, uint256 amount, bytes32 ruleId, uint24 policyVersion, bytes32 source) external;

    /// @notice Redeem (burn) the caller's own points for a platform service.
    function redeem(uint256 amount, string calldata purpose) external;

    function totalIssued() external view returns (uint256);

    function totalRedeemed() external view returns (uint256);
}
