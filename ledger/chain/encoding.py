"""How domain values become contract arguments."""

from __future__ import annotations

import hashlib

from eth_utils.address import is_checksum_address
from eth_utils.crypto import keccak

from ledger.domain.ids import ID_BYTES, check_identifier
from ledger.domain.policy import RuleParams, amendment_description


def text_id(text: str) -> bytes:
    """Short text (contract ids, payment references, periods, rule ids) as a left-aligned bytes32."""
    return check_identifier(text).encode("utf-8").ljust(ID_BYTES, b"\0")


def id_text(value: bytes) -> str:
    """The inverse of `text_id` (hex when the bytes are not text)."""
    stripped = bytes(value).rstrip(b"\0")
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + bytes(value).hex()
    return text if text.isprintable() and stripped else "0x" + bytes(value).hex()


def fails_checksum(address: str) -> bool:
    """Whether an address written in mixed case, which is its EIP-55 checksum, fails it: a character was
    mistyped. In one case only it carries no checksum."""
    digits = address.removeprefix("0x")
    return digits not in (digits.lower(), digits.upper()) and not is_checksum_address(address)


def is_account(value: object) -> bool:
    """Whether `value` is an account address as a file may keep one: 0x and 40 hex digits, in one case
    or in its EIP-55 mixed case (a mixed case whose checksum fails has a character mistyped)."""
    from eth_utils.address import is_address

    return isinstance(value, str) and is_address(value) and not fails_checksum(value)


def sha256_bytes(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256_from_hex(text: str) -> bytes | None:
    """A SHA-256 written in hex (64 digits, perhaps after 0x), as a payments file gives a receipt's;
    None when `text` is not one."""
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        return None
    return value if len(value) == 32 else None


def uscc_hash(code: str | None) -> bytes:
    """keccak256 of the credit code (zero for members without one)."""
    return keccak(text=code) if code else b"\0" * 32


def attestation_id(kind: str, *parts: object) -> bytes:
    """A deterministic id for an attestation, so that an identical resend is recognised as a replay."""
    return keccak(text="attestation:" + kind + ":" + ":".join(str(p) for p in parts))


def amendment_source_hash(rule_id: str, params: RuleParams) -> bytes:
    """The source hash of a version that amends one rule rather than publishing a whole file."""
    return keccak(text=amendment_description(rule_id, params))
