"""Enums mirroring the Solidity enums of `contracts/libraries/LedgerTypes.sol` (same values)."""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class NamedEnum(IntEnum):
    """An IntEnum whose file/CLI spelling is its lower-case name."""

    @property
    def label(self) -> str:
        return self._name_.lower()  # the plain attribute: `name` goes through a descriptor

    @classmethod
    def choices(cls) -> list[str]:
        """The labels a file or the CLI may spell, in declaration order."""
        return [m.label for m in cls if cls._accepts(m)]

    @classmethod
    def parse(cls, text: object) -> Self:
        """The member whose label is `text`; `ValueError` naming the choices otherwise."""
        for member in cls:
            if member.label == text and cls._accepts(member):
                return member
        raise ValueError(f"{text!r} is not one of: {', '.join(cls.choices())}")

    @classmethod
    def _accepts(cls, member: NamedEnum) -> bool:
        return True


class MemberKind(NamedEnum):
    """What a member is (SPEC section 4)."""

    NONE = 0
    UNIVERSITY = 1
    INSTITUTE = 2
    ENTERPRISE = 3
    INSTRUMENT_PROVIDER = 4
    BROKER = 5
    INDIVIDUAL = 6
    OPERATOR = 7
    REGULATOR = 8

    @classmethod
    def _accepts(cls, member: NamedEnum) -> bool:
        return member.value != 0

    @property
    def needs_credit_code(self) -> bool:
        """Whether a member of this kind must have a unified social credit code: organisations do;
        individuals have none, and a broker may be a person (技术经纪人) as well as a firm (服务机构)."""
        return self not in (MemberKind.INDIVIDUAL, MemberKind.BROKER)

    @property
    def trades(self) -> bool:
        """Whether a member of this kind trades on the market: every kind but the market's own staff
        (operator, regulator). An operator records the payments that earn points, so an account that
        trades is never one (the membership contract's `_isStaff` is the other side of this)."""
        return self not in (MemberKind.NONE, MemberKind.OPERATOR, MemberKind.REGULATOR)


class MemberStatus(NamedEnum):
    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2


class ContractKind(NamedEnum):
    TRANSFER = 0
    LICENSE = 1
    EQUITY = 2
    SERVICE = 3
    DEVELOPMENT = 4


class PaymentPlan(NamedEnum):
    LUMP_SUM = 0
    STAGED = 1
    ZERO_UPFRONT_STAGED_ROYALTY = 2
    DEFERRED = 3


class SettlementKind(NamedEnum):
    CASH = 0
    EQUITY = 1


class AppointmentTitle(NamedEnum):
    TECH_VICE_PRESIDENT = 0
    INDUSTRY_PROFESSOR = 1


#: Sentinel milestone index meaning "the contract's only milestone" (ContractRegistry).
MILESTONE_UNSPECIFIED = (1 << 32) - 1
