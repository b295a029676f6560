"""Confidential contract terms: sealed for the parties and the auditor, hashed on chain.

The document is encrypted once with AES-256-GCM under a fresh key; that key is wrapped for each
recipient with ECDH (P-256, an ephemeral key per recipient) and HKDF-SHA256, to the public key in
the recipient's certificate. Only the SHA-256 of the plaintext goes on chain.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.identity.ca import IdentityError, cert_name, fingerprint

FORMAT = "mkj-ledger sealed terms v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _kek(shared: bytes, *, contract: str, recipient: bytes) -> bytes:
    info = b"mkj-ledger terms key wrap\0" + contract.encode("utf-8") + b"\0" + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


@dataclass(frozen=True)
class Opened:
    plaintext: bytes
    sha256: bytes
    recipient: str


def seal(plaintext: bytes, *, contract: str, recipients: list[x509.Certificate]) -> dict[str, Any]:
    """Encrypt `plaintext` for every certificate in `recipients`."""
    if not recipients:
        raise IdentityError("a sealed document needs at least one recipient")
    digest = hashlib.sha256(plaintext).digest()
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    aad = f"{FORMAT}\0{contract}\0".encode() + digest
    sealed: dict[str, Any] = {
        "format": FORMAT,
        "contract": contract,
        "sha256": digest.hex(),
        "nonce": _b64(nonce),
        "ciphertext": _b64(AESGCM(key).encrypt(nonce, plaintext, aad)),
        "recipients": [],
    }
    for cert in recipients:
        public = cert.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
            raise IdentityError(f"the certificate of {cert_name(cert)} has no P-256 key to seal to")
        ephemeral = ec.generate_private_key(ec.SECP256R1())
        fp = fingerprint(cert)
        kek = _kek(ephemeral.exchange(ec.ECDH(), public), contract=contract, recipient=fp)
        wrap_nonce = os.urandom(12)
        sealed["recipients"].append(
            {
                "name": cert_name(cert),
                "certificate": fp.hex(),
                "ephemeral": _b64(
                    ephemeral.public_key().public_bytes(
                        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
                    )
                ),
                "nonce": _b64(wrap_nonce),
                "wrapped_key": _b64(AESGCM(kek).encrypt(wrap_nonce, key, fp)),
            }
        )
    return sealed


def recipient_names(sealed: dict[str, Any]) -> list[str]:
    """The names of the certificates a sealed document was sealed for, as far as it names them."""
    listed = sealed.get("recipients")
    return [str(r.get("name")) for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []


def open_sealed(sealed: dict[str, Any], *, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Opened:
    """Decrypt as the holder of `cert` and `key`; refuses a non-recipient and any altered byte."""
    try:
        if sealed.get("format") != FORMAT:
            raise IdentityError("this is not a sealed terms document of the ledger")
        fp = fingerprint(cert)
        entry = next((r for r in sealed["recipients"] if r["certificate"] == fp.hex()), None)
        content_key: bytes | None = None
        if entry is not None:
            content_key = _unwrap(entry, key, sealed["contract"])
        elif cert.public_key() == key.public_key():
            # A certificate renewed for the same key opens what was sealed to the certificate before it.
            unwrapped = (_try_unwrap(r, key, sealed["contract"]) for r in sealed["recipients"])
            content_key = next((k for k in unwrapped if k is not None), None)
        if content_key is None:
            raise IdentityError(f"{cert_name(cert)} is not a recipient of this sealed document")
        digest = bytes.fromhex(sealed["sha256"])
        aad = f"{FORMAT}\0{sealed['contract']}\0".encode() + digest
        plaintext = AESGCM(content_key).decrypt(_unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), aad)
    except InvalidTag:
        raise IdentityError("the sealed document was altered, or this key does not belong to the certificate") from None
    except (KeyError, ValueError, TypeError, AttributeError):  # a field missing, or of another JSON type
        raise IdentityError("the sealed document is damaged (a field is missing or malformed)") from None
    if hashlib.sha256(plaintext).digest() != digest:
        raise IdentityError("the sealed document was altered: its content does not match its hash")
    return Opened(plaintext=plaintext, sha256=digest, recipient=cert_name(cert))


def _unwrap(entry: dict[str, Any], key: ec.EllipticCurvePrivateKey, contract: str) -> bytes:
    """The content key wrapped in `entry` for the certificate it names (InvalidTag if not for `key`)."""
    recipient = bytes.fromhex(entry["certificate"])
    ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(entry["ephemeral"]))
    kek = _kek(key.exchange(ec.ECDH(), ephemeral), contract=contract, recipient=recipient)
    return AESGCM(kek).decrypt(_unb64(entry["nonce"]), _unb64(entry["wrapped_key"]), recipient)


def _try_unwrap(entry: dict[str, Any], key: ec.EllipticCurvePrivateKey, contract: str) -> bytes | None:
    try:
        return _unwrap(entry, key, contract)
    except InvalidTag:
        return None


def dump(sealed: dict[str, Any]) -> str:
    return json.dumps(sealed, ensure_ascii=False, indent=1)
