// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ContractKind, MemberKind, PaymentPlan} from "ledger-contracts/libraries/LedgerTypes.sol";
import {BuyerTerms, PaymentTerms, SellerTerms} from "ledger-contracts/libraries/PaymentTerms.sol";

/// @title The two words the registry answers a payment with give back every field packed into them
/// @notice Fuzzed by `forge test` over every account, every enum value and every received amount.
contract PaymentTermsTest {
    using PaymentTerms for SellerTerms;
    using PaymentTerms for BuyerTerms;

    function testFuzz_sellerTermsGiveBackEveryField(
        address seller,
        uint8 kind,
        uint8 plan,
        uint8 sellerKind,
        bool buyerInRegion
    ) public pure {
        ContractKind k = ContractKind(kind % (uint8(type(ContractKind).max) + 1));
        PaymentPlan p = PaymentPlan(plan % (uint8(type(PaymentPlan).max) + 1));
        MemberKind m = MemberKind(sellerKind % (uint8(type(MemberKind).max) + 1));
        SellerTerms terms = PaymentTerms.packSeller(seller, k, p, m, buyerInRegion);
        require(terms.account() == seller, "seller");
        require(terms.kind() == k, "contract kind");
        require(terms.plan() == p, "payment plan");
        require(terms.sellerKind() == m, "seller's kind");
        require(terms.buyerInRegion() == buyerInRegion, "buyer in region");
    }

    function testFuzz_buyerTermsGiveBackBuyerAndReceived(address buyer, uint64 receivedBefore) public pure {
        BuyerTerms terms = PaymentTerms.packBuyer(buyer, receivedBefore);
        require(terms.account() == buyer, "buyer");
        require(terms.receivedBefore() == receivedBefore, "received before");
    }
}
