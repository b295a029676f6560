// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ContractKind, PaymentPlan} from "../libraries/LedgerTypes.sol";
import {BuyerTerms, SellerTerms} from "../libraries/PaymentTerms.sol";

/// @title Technology contracts, their milestones and royalty periods, and shared instruments
/// @notice Operators register; the settlement ledger applies payments through `applyPayment`.
interface IContractRegistry {
    struct MilestoneInput {
        string title;
        uint256 amount;
        uint40 dueDate;
    }

    struct ContractInput {
        bytes32 id;
        ContractKind kind;
        PaymentPlan plan;
        uint16 royaltyBps;
        uint40 signedAt;
        address seller;
        address buyer;
        address broker;
        bytes32 instrumentId;
        bytes32 termsHash;
        MilestoneInput[] milestones;
    }

    struct ContractView {
        ContractKind kind;
        PaymentPlan plan;
        uint16 royaltyBps;
        uint40 signedAt;
        address seller;
        address buyer;
        address broker;
        bytes32 instrumentId;
        bytes32 termsHash;
        uint256 value;
        uint256 received;
        uint256 milestoneCount;
    }

    struct MilestoneView {
        uint256 due;
        uint256 paid;
        uint40 dueDate;
        bool achieved;
    }

    struct Instrument {
        address provider;
        uint256 originalValue;
    }

    error UnknownContract(bytes32 contractId);
    error ContractAlreadyRegistered(bytes32 contractId);
    error SellerIsBuyer(bytes32 contractId, address account);
    error BrokerIsAParty(bytes32 contractId, address account);
    error NotAMember(address account);
    error PartySuspended(address account);
    error NoMilestones(bytes32 contractId);
    error ZeroAmount();
    error AmountTooLarge(uint256 amount);
    error RateAboveHundredPercent(bytes32 ruleId, uint16 rateBps);
    error ZeroUpfrontMilestoneAtSigning(bytes32 contractId, uint256 index);
    error DeferredNeedsOneMilestone(bytes32 contractId, uint256 count);
    error RoyaltyNotAllowed(bytes32 contractId);
    error UnknownInstrument(bytes32 instrumentId);
    error InstrumentAlreadyRegistered(bytes32 instrumentId);
    error InstrumentBelowSharingThreshold(bytes32 instrumentId, uint256 originalValue, uint256 minimum);
    error ServiceNeedsInstrument(bytes32 contractId);
    error InstrumentOnlyForService(bytes32 contractId);
    error SellerNotInstrumentProvider(bytes32 contractId, address seller, address provider);
    error UnknownMilestone(bytes32 contractId, uint256 index);
    error MilestoneRequired(bytes32 contractId, uint256 milestoneCount);
    error MilestoneAlreadyAchieved(bytes32 contractId, uint256 index);
    error MilestoneNotAchieved(bytes32 contractId, uint256 index);
    error AmountExceedsDue(bytes32 contractId, uint256 index, uint256 amount, uint256 outstanding);
    error NoRoyaltyTerms(bytes32 contractId);
    error RoyaltyPeriodAlreadyReported(bytes32 contractId, bytes32 period);
    error RoyaltyPeriodNotReported(bytes32 contractId, bytes32 period);
    error RoyaltyExceedsDue(bytes32 contractId, bytes32 period, uint256 amount, uint256 outstanding);
    error PaymentBeforeSigning(bytes32 contractId, uint40 paidAt, uint40 signedAt);
    error DatedBeforeSigning(bytes32 contractId, uint40 date, uint40 signedAt);
    error DatedInFuture(uint40 date, uint256 now_);

    event InstrumentRegistered(bytes32 indexed instrumentId, address indexed provider, uint256 originalValue);
    event ContractRegistered(
        bytes32 indexed contractId,
        address indexed seller,
        address indexed buyer,
        ContractKind kind,
        PaymentPlan plan,
        address broker,
        bytes32 instrumentId,
        uint40 signedAt,
        uint256 value,
        uint16 royaltyBps,
        bytes32 termsHash
    );
    event MilestoneAdded(bytes32 indexed contractId, uint256 indexed index, string title, uint256 amount, uint40 dueDate);
    event MilestoneAchieved(bytes32 indexed contractId, uint256 indexed index, uint40 achievedAt);
    event RevenueReported(
        bytes32 indexed contractId, bytes32 indexed period, uint256 revenue, uint256 royaltyDue, uint40 reportedAt
    );

    /// @notice Register an instrument for sharing. Operator only.
    function registerInstrument(bytes32 instrumentId, address provider, uint256 originalValue) external;

    /// @notice Register a technology contract with its payment plan. Operator only.
    function registerContract(ContractInput calldata input) external;

    /// @notice Register several contracts in one transaction, all or none (each checked as
    /// `registerContract` checks it, in order, so a later one may not repeat an earlier id). Operator only.
    function registerContracts(ContractInput[] calldata inputs) external;

    /// @notice Record that a milestone was reached. Operator only.
    function achieveMilestone(bytes32 contractId, uint256 index, uint40 achievedAt) external;

    /// @notice Record the licensee's revenue for a royalty period. Operator only.
    function reportRevenue(bytes32 contractId, bytes32 period, uint256 revenue, uint40 reportedAt) external;

    /// @notice Check a payment against the contract and count it as received. Ledger only.
    /// @param milestone index, or type(uint32).max for "the only milestone"; ignored for royalties
    /// @param period zero for a milestone payment, the royalty period otherwise
    /// @return seller the seller, the contract's kind and plan, the seller's kind, the buyer's region
    /// @return buyer the buyer and the amount received before this payment
    /// @return broker the contract's broker, zero if it has none
    /// @return buyerYearBefore the clause-15 basis of the buyer as user in the payment's Beijing year,
    /// before this payment (service contracts; zero otherwise)
    /// @return sellerYearBefore the same for the seller as provider
    function applyPayment(bytes32 contractId, uint32 milestone, bytes32 period, uint256 amount, uint40 paidAt)
        external
        returns (
            SellerTerms seller,
            BuyerTerms buyer,
            address broker,
            uint256 buyerYearBefore,
            uint256 sellerYearBefore
        );

    function contractOf(bytes32 contractId) external view returns (ContractView memory);

    function milestoneOf(bytes32 contractId, uint256 index) external view returns (MilestoneView memory);

    function royaltyOf(bytes32 contractId, bytes32 period)
        external
        view
        returns (bool reported, uint256 due, uint256 paid);

    function instrumentOf(bytes32 instrumentId) external view returns (Instrument memory);
}
