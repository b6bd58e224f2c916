"""RFC 3161 timestamps over a file's exact bytes: a bundle, a checkpoint note.

A time-stamping authority (TSA) signs "this SHA-256 existed at this time":
held beside the file (``FILE.tsr``, the DER TimeStampResp), it shows that the
bundle or checkpoint existed, byte for byte, no later than the TSA's
``genTime``. A history rewritten afterwards cannot carry an older timestamp,
and ``generated_at`` is no longer only stated.

``request`` asks a TSA over HTTP (``application/timestamp-query``, RFC 3161
section 3.4) for a token over the file's SHA-256, with a fresh nonce and the
TSA's certificate requested, and checks the answer before it is kept (granted,
the same digest, the same nonce). ``check`` verifies a kept token against the
file and the TSA's CA certificate(s) the verifier trusts: the signature chains
to one of them, the signer's certificate is a critical-EKU time-stamping one
(``rfc3161-client``, the sigstore project's verifier), and the token's digest
is the file's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from core.errors import InputError
from slawatch.files import read_bytes

CONTENT_TYPE = "application/timestamp-query"
MAX_RESPONSE = 1 << 20  # a TimeStampResp with its certificates is a few kilobytes


@dataclass(frozen=True)
class Stamp:
    """What a verified token says."""

    at: datetime  # the TSA's genTime (aware UTC)
    tsa: str  # the signing certificate's subject
    serial: int  # the token's serial number at that TSA
    sha256: str  # the digest it vouches for (the file's)


def request(data: bytes, url: str, *, timeout: float = 30.0) -> bytes:
    """A TimeStampResp (DER) over ``data``'s SHA-256 from the TSA at ``url``, checked:
    InputError naming the TSA for a refusal or an answer that is not for this request."""
    if not data:
        raise InputError(url, "an empty file cannot be timestamped")
    query = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            answer = client.post(
                url, content=query.as_bytes(), headers={"Content-Type": CONTENT_TYPE}
            )
    except httpx.HTTPError as exc:
        raise InputError(url, f"the time-stamping authority cannot be reached: {exc}") from None
    if answer.status_code != 200:
        raise InputError(url, f"the time-stamping authority answered HTTP {answer.status_code}")
    body = answer.content[: MAX_RESPONSE + 1]
    if len(body) > MAX_RESPONSE:
        raise InputError(url, "the time-stamping authority's answer is too long")
    try:
        response = decode_timestamp_response(body)
    except ValueError as exc:
        raise InputError(url, f"not an RFC 3161 TimeStampResp ({exc})") from None
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        said = "; ".join(response.status_string) or f"status {response.status}"
        raise InputError(url, f"the time-stamping authority refused: {said}")
    info = response.tst_info
    if info.message_imprint.message != hashlib.sha256(data).digest():
        raise InputError(url, "the token is for another digest than the one asked")
    if info.nonce != query.nonce:
        raise InputError(url, "the token's nonce is not the one asked (a replayed answer?)")
    return body


def check(data: bytes, token: bytes, roots: list[x509.Certificate], where: str) -> Stamp:
    """Verify ``token`` over ``data`` against the trusted ``roots``; raises
    VerificationError (the token does not hold for these bytes or these roots) or
    InputError (``where`` is not a TimeStampResp)."""
    try:
        response = decode_timestamp_response(token)
    except ValueError as exc:
        raise InputError(where, f"not an RFC 3161 TimeStampResp ({exc})") from None
    builder = VerifierBuilder()
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify_message(response, data)
    except ValueError as exc:  # a certificate or structure the verifier cannot use
        raise VerificationError(str(exc)) from None
    info = response.tst_info
    at = info.gen_time if info.gen_time.tzinfo else info.gen_time.replace(tzinfo=UTC)
    return Stamp(at.astimezone(UTC), _signer(response), info.serial_number,
                 info.message_imprint.message.hex())  # fmt: skip


def _signer(response: TimeStampResponse) -> str:
    """The subject of the certificate that signed the token (as the verifier found it)."""
    for der in response.signed_data.certificates:
        cert = x509.load_der_x509_certificate(der)
        for si in response.signed_data.signer_infos:
            if cert.issuer == si.issuer and cert.serial_number == si.serial_number:
                return cert.subject.rfc4514_string()
    return "the TSA named by the token"


def load_roots(path: Path) -> list[x509.Certificate]:
    """The PEM certificates of ``path`` (the TSA's CA, as the verifier trusts it)."""
    data = read_bytes(path)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise InputError(str(path), "no PEM certificate in this file") from None
    return certs
