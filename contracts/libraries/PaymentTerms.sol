// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ContractKind, MemberKind, PaymentPlan} from "./LedgerTypes.sol";

/// @notice The seller's side of a contract as of one payment, in one word: the seller (bits 0-159),
/// the contract's kind (160-167) and payment plan (168-175), the seller's member kind (176-183) and
/// whether the buyer is in the region (bit 184).
type SellerTerms is uint256;

/// @notice The buyer's side of a contract as of one payment, in one word: the buyer (bits 0-159) and
/// the amount the contract had received before the payment, in fen (160-223).
type BuyerTerms is uint256;

/// @title What the award rules read about a contract, as of one payment
/// @notice The contract registry answers each payment it applies with these two words (and the
/// broker and the clause-15 bases) instead of a struct of ten fields: a struct crosses the call as
/// ten ABI words, each written, read back and checked on both sides, which was about a fifth of the
/// EVM's work per batched settlement. `sellerKind` and `buyerInRegion` are copied from Membership at
/// registration: a member's kind and region never change after enrolment.
library PaymentTerms {
    uint256 private constant KIND_SHIFT = 160;
    uint256 private constant PLAN_SHIFT = 168;
    uint256 private constant SELLER_KIND_SHIFT = 176;
    uint256 private constant BUYER_IN_REGION_SHIFT = 184;
    uint256 private constant RECEIVED_SHIFT = 160;

    function packSeller(
        address seller_,
        ContractKind kind_,
        PaymentPlan plan_,
        MemberKind sellerKind_,
        bool buyerInRegion_
    ) internal pure returns (SellerTerms) {
        uint256 word = uint256(uint160(seller_)) | (uint256(kind_) << KIND_SHIFT) | (uint256(plan_) << PLAN_SHIFT)
            | (uint256(sellerKind_) << SELLER_KIND_SHIFT);
        if (buyerInRegion_) word |= 1 << BUYER_IN_REGION_SHIFT;
        return SellerTerms.wrap(word);
    }

    /// @param receivedBefore_ fen, below 2^64 (the registry keeps a contract's received amount in 64 bits)
    function packBuyer(address buyer_, uint64 receivedBefore_) internal pure returns (BuyerTerms) {
        return BuyerTerms.wrap(uint256(uint160(buyer_)) | (uint256(receivedBefore_) << RECEIVED_SHIFT));
    }

    /// @notice The seller's account.
    function account(SellerTerms terms) internal pure returns (address) {
        return address(uint160(SellerTerms.unwrap(terms)));
    }

    function kind(SellerTerms terms) internal pure returns (ContractKind) {
        return ContractKind(uint8(SellerTerms.unwrap(terms) >> KIND_SHIFT));
    }

    function plan(SellerTerms terms) internal pure returns (PaymentPlan) {
        return PaymentPlan(uint8(SellerTerms.unwrap(terms) >> PLAN_SHIFT));
    }

    function sellerKind(SellerTerms terms) internal pure returns (MemberKind) {
        return MemberKind(uint8(SellerTerms.unwrap(terms) >> SELLER_KIND_SHIFT));
    }

    function buyerInRegion(SellerTerms terms) internal pure returns (bool) {
        return (SellerTerms.unwrap(terms) >> BUYER_IN_REGION_SHIFT) & 1 == 1;
    }

    /// @notice The buyer's account.
    function account(BuyerTerms terms) internal pure returns (address) {
        return address(uint160(BuyerTerms.unwrap(terms)));
    }

    /// @notice What the contract had received before the payment, in fen.
    function receivedBefore(BuyerTerms terms) internal pure returns (uint256) {
        return BuyerTerms.unwrap(terms) >> RECEIVED_SHIFT;
    }
}
