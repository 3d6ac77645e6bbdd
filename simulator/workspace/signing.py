"""Approvals signed with an organisation's Ed25519 key, verifiable outside the database.

A signature binds one jurisdiction's approval to one exact plan version: the payload names the
plan, the version number, the SHA-256 of the run's ``manifest.json`` (which holds the SHA-256 of
every file of the run) and of its ``plan.json``, the signing organisation and its key id, the
member and the time. The signature is Ed25519 over a context string and the payload's canonical
JSON, made with the private key that ``madad exchange keygen`` wrote for the organisation.

A signature file (:func:`signature_file`) carries the payloads, the signatures and the signers'
public identities; :func:`verify_file` checks it against a run folder with nothing but this
module, so anyone holding the plan's folder can check who approved it, without the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from hazards.errors import ExchangeError, WorkspaceError
from simulator.exchange.common import _b64, _canonical, _unb64
from simulator.exchange.keys import PrivateIdentity, PublicIdentity, identity_from_json

__all__ = ["CONTEXT", "SignedApproval", "payload", "sign", "signature_file", "verify",
           "verify_file"]

#: Prefix of every signed approval (domain separation from exchange package signatures).
CONTEXT = "madad-plan-approval/v1"
_PREFIX = CONTEXT.encode() + b"\x00"


@dataclass(frozen=True)
class SignedApproval:
    """A payload and its signature, as stored and exported."""

    payload: dict
    signature_b64: str

    @property
    def payload_json(self) -> str:
        return _canonical(self.payload).decode("ascii")


def payload(
    *,
    plan: str,
    version: int,
    manifest_sha256: str,
    plan_sha256: str,
    jurisdiction: str,
    organisation: str,
    key_id: str,
    member: str,
    signed_utc: str,
) -> dict:
    """The approval a jurisdiction signs (every field is part of what is signed)."""
    return {
        "context": CONTEXT,
        "plan": plan,
        "version": int(version),
        "manifest_sha256": manifest_sha256,
        "plan_sha256": plan_sha256,
        "jurisdiction": jurisdiction,
        "organisation": organisation,
        "key_id": key_id,
        "member": member,
        "signed_utc": signed_utc,
    }


def sign(body: dict, key: PrivateIdentity) -> SignedApproval:
    """Sign ``body`` (from :func:`payload`) with the organisation's private keys.

    Raises
    ------
    WorkspaceError
        The key belongs to another organisation or key id than the payload names.
    """
    if key.agency_id != body["organisation"] or key.key_id != body["key_id"]:
        raise WorkspaceError(
            f"the private key given is {key.agency_id}'s (key id {key.key_id}), but the approval "
            f"is for {body['organisation']} with key id {body['key_id']}; give "
            f"{body['organisation']}.key.pem, the key registered for the organisation."
        )
    signature = key.signing_key.sign(_PREFIX + _canonical(body))
    return SignedApproval(body, _b64(signature))


def verify(approval: SignedApproval, identity: PublicIdentity) -> None:
    """Check a signed approval against the organisation's public identity.

    Raises
    ------
    WorkspaceError
        The identity is another organisation's or key, or the signature does not verify (the
        payload or the signature was changed).
    """
    body = approval.payload
    if body.get("context") != CONTEXT:
        raise WorkspaceError(f"not a Madad plan approval (context {body.get('context')!r}).")
    if identity.agency_id != body.get("organisation") or identity.key_id != body.get("key_id"):
        raise WorkspaceError(
            f"the approval names {body.get('organisation')} with key id {body.get('key_id')}, "
            f"but the identity given is {identity.agency_id}'s (key id {identity.key_id})."
        )
    raw = _unb64(approval.signature_b64, 64, "signature", "approval")
    try:
        identity.signing_key.verify(raw, _PREFIX + _canonical(body))
    except InvalidSignature as exc:
        raise WorkspaceError(
            f"the approval of {body.get('jurisdiction')} by {body.get('organisation')} for plan "
            f"{body.get('plan')} version {body.get('version')} does not verify: it was changed "
            "after it was signed. Do not rely on it."
        ) from exc


def signature_file(approvals: list[tuple[SignedApproval, str]]) -> dict:
    """The exportable record of a version's signatures: each approval with its signer's
    public identity file (JSON text), for :func:`verify_file`."""
    return {
        "format": "madad-plan-signatures/v1",
        "signatures": [
            {"payload": a.payload, "signature_b64": a.signature_b64,
             "identity": json.loads(identity_json)}
            for a, identity_json in approvals
        ],
    }


def verify_file(path: str | Path, run_folder: str | Path | None = None) -> list[dict]:
    """Check every signature of a signature file, and that they are over ``run_folder``.

    Parameters
    ----------
    path : str or Path
        A file written by ``madad workspace status --signatures FILE``.
    run_folder : str or Path, optional
        The plan's run folder; its ``manifest.json`` must have the SHA-256 every approval names.

    Returns
    -------
    list of dict
        The verified payloads. Compare their key ids with the organisations' out of band.

    Raises
    ------
    WorkspaceError
        The file is unreadable, a signature does not verify, or the run folder is not the
        version that was signed.
    """
    src = Path(path)
    try:
        record = json.loads(src.read_text(encoding="utf-8"))
        entries = record["signatures"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(f"{src}: not a Madad signature file ({exc}).") from exc
    manifest = None
    if run_folder is not None:
        mpath = Path(run_folder) / "manifest.json"
        if not mpath.is_file():
            raise WorkspaceError(f"{mpath}: missing; give the run folder that was submitted.")
        manifest = hashlib.sha256(mpath.read_bytes()).hexdigest()
    out = []
    for i, entry in enumerate(entries, 1):
        try:
            identity = identity_from_json(entry.get("identity"), f"{src}: signature {i}")
        except ExchangeError as exc:
            raise WorkspaceError(f"{exc} The signer's identity in the file is not valid.") from exc
        approval = SignedApproval(entry.get("payload") or {}, str(entry.get("signature_b64")))
        verify(approval, identity)
        if manifest is not None and approval.payload.get("manifest_sha256") != manifest:
            raise WorkspaceError(
                f"{src}: signature {i} ({approval.payload.get('organisation')}) is over another "
                f"version (manifest {approval.payload.get('manifest_sha256', '')[:12]}...), not "
                f"the run folder {run_folder} (manifest {manifest[:12]}...)."
            )
        out.append(approval.payload)
    return out
