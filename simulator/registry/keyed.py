"""Keyed hashes many at a time: HMAC-SHA256 (RFC 2104) of a list of messages.

One function for every keyed pseudonym Madad makes: the exchange's CNIC pseudonyms and linkage
encodings (:mod:`simulator.exchange`) and the payment files' pseudonyms
(:mod:`simulator.plans.payments`). It lives with the registry, below both.
"""

from __future__ import annotations

import hashlib


def hmac_many(secret: bytes, messages: list[bytes]) -> bytes:
    """HMAC-SHA256 of each message, concatenated (32 bytes each).

    The same as ``hmac.new(secret, m, hashlib.sha256).digest()`` for each ``m`` (RFC 2104), with
    the padded-key states computed once: about twice as fast as ``hmac`` in a loop.
    """
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def one(message: bytes) -> bytes:
        i = inner()
        i.update(message)
        o = outer()
        o.update(i.digest())
        return o.digest()

    return b"".join([one(m) for m in messages])
