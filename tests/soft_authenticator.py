"""A software WebAuthn authenticator for tests: EC P-256 keys made with `cryptography`.

It answers the options the server sends the way a browser and a platform authenticator would,
as the JSON the page's script posts back, and lets a test bend any part (origin, RP id, flags,
sign count, attestation format) to check that the server refuses it.
"""

import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40
ES256 = -7


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    sign_count: int = 0


class SoftAuthenticator:
    """Holds the passkeys it made; `create` and `get` answer the server's options."""

    def __init__(self, origin: str = "http://portal.test") -> None:
        self.origin = origin
        self.credentials: list[Credential] = []

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    @staticmethod
    def _cose_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        numbers = key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,  # kty: EC2
                3: ES256,  # alg
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def create(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        fmt: str = "none",
        flags: int = UP | UV | AT,
        kind: str = "webauthn.create",
    ) -> dict:
        """navigator.credentials.create(): a new credential, as RegistrationResponseJSON."""
        rp_id = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential_id = os.urandom(16)
        client_data = self._client_data(kind, options["challenge"], origin or self.origin)
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([flags])
            + (0).to_bytes(4, "big")
            + bytes(16)  # AAGUID: none
            + len(credential_id).to_bytes(2, "big")
            + credential_id
            + self._cose_key(key)
        )
        statement: dict = {}
        if fmt == "packed":
            # Self attestation: signed with the credential's own key.
            signed = auth_data + hashlib.sha256(client_data).digest()
            statement = {"alg": ES256, "sig": key.sign(signed, ec.ECDSA(hashes.SHA256()))}
        attestation = encode_cbor({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        self.credentials.append(
            Credential(credential_id, key, base64url_to_bytes(options["user"]["id"]), rp_id)
        )
        encoded_id = bytes_to_base64url(credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict,
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = UP | UV,
        sign_count: int | None = None,
        kind: str = "webauthn.get",
    ) -> dict:
        """navigator.credentials.get(): an assertion by `credential` (default: the newest)."""
        credential = credential or self.credentials[-1]
        if sign_count is None:
            credential.sign_count += 1
            sign_count = credential.sign_count
        client_data = self._client_data(kind, options["challenge"], origin or self.origin)
        auth_data = (
            hashlib.sha256((rp_id or credential.rp_id).encode()).digest()
            + bytes([flags])
            + sign_count.to_bytes(4, "big")
        )
        signature = credential.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        encoded_id = bytes_to_base64url(credential.credential_id)
        return {
            "id": encoded_id,
            "rawId": encoded_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
