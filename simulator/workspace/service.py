"""The Committee workspace: every action on the record, checked, transactional and audited.

:class:`Workspace` is the one way in, for the CLI (``madad workspace ...``), the app's Committee
page and scripts alike. Each action

1. re-reads the acting member from the database and asks :mod:`simulator.workspace.access`
   whether they may do it (a refusal raises :class:`~hazards.errors.ForbiddenError` and is
   audited);
2. runs in one transaction, with optimistic version checks on the rows that change (a plan's
   head, a meeting's minutes, an action point), so that two members acting at once lose no
   update: the second gets :class:`~hazards.errors.ConflictError` and reloads;
3. appends a hash-chained event to the audit trail in the same transaction.

A plan version is a run folder written by ``madad run``: its manifest is checked (every file's
SHA-256) when it is submitted, ``plan.json`` and ``manifest.json`` are stored by hash, and the
household table is referenced by hash, never copied in. A version is *jointly approved* when the
federal government and every province the plan involves have each signed that exact version
with their organisation's Ed25519 key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from hazards.errors import ConflictError, ExchangeError, ForbiddenError, WorkspaceError
from simulator.exchange.common import _canonical
from simulator.exchange.keys import PrivateIdentity, identity_from_json, load_private
from simulator.workspace import signing
from simulator.workspace.access import Actor, refusal
from simulator.workspace.db import make_engine, migrate
from simulator.workspace.models import (
    ACTION_STATUSES,
    LEVELS,
    REVIEW_KINDS,
    ROLES,
    VIEWS,
    ActionEvent,
    ActionPoint,
    AuditEvent,
    AuditHead,
    Blob,
    Meeting,
    Member,
    Organisation,
    Plan,
    PlanVersion,
    Review,
    Signature,
)

__all__ = ["ActionView", "Actor", "PlanStatus", "VersionStatus", "Workspace", "jurisdictions"]

log = logging.getLogger(__name__)

_CODE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_USER_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
#: Province codes that sign for themselves; Islamabad Capital Territory is federally
#: administered, so the federal signature covers it.
PROVINCES = ("PB", "SD", "KP", "BA")
_GENESIS = "0" * 64


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def jurisdictions(plan: dict) -> list[str]:
    """Who must sign a plan: ``federal`` and every province with affected or paid households.

    Parameters
    ----------
    plan : dict
        A ``plan.json``.
    """
    need = ["federal"]
    for row in plan.get("provinces") or []:
        code = row.get("province_code")
        involved = any(int(row.get(k) or 0) > 0 for k in
                       ("affected_households", "paid_households", "amount_pkr"))
        if involved and code in PROVINCES and code not in need:
            need.append(code)
    return need


@dataclass(frozen=True)
class VersionStatus:
    """One version of a plan and where its approval stands."""

    number: int
    manifest_sha256: str
    scenario: str
    submitted_by: str
    submitted_at: str
    note: str
    required: tuple[str, ...]
    #: jurisdiction -> {organisation, member, key_id, signed_at, valid}
    signatures: dict[str, dict]
    reviews: tuple[dict, ...]
    totals: dict

    @property
    def missing(self) -> tuple[str, ...]:
        """Jurisdictions still to sign (an invalid signature counts as missing)."""
        return tuple(j for j in self.required
                     if not (j in self.signatures and self.signatures[j]["valid"]))

    @property
    def jointly_approved(self) -> bool:
        return not self.missing

    @property
    def changes_requested(self) -> int:
        return sum(r["kind"] == "request_changes" for r in self.reviews)


@dataclass(frozen=True)
class PlanStatus:
    """A plan and its versions, newest last."""

    code: str
    title: str
    versions: tuple[VersionStatus, ...]

    @property
    def latest(self) -> VersionStatus | None:
        return self.versions[-1] if self.versions else None

    @property
    def state(self) -> str:
        """``jointly approved``, ``changes requested``, ``awaiting signatures`` or ``empty``
        (of the newest version)."""
        v = self.latest
        if v is None:
            return "empty"
        if v.jointly_approved:
            return "jointly approved"
        if v.changes_requested:
            return "changes requested"
        return "awaiting signatures"


@dataclass(frozen=True)
class ActionView:
    """An action point as the tracker shows it."""

    id: int
    title: str
    owner: str
    due_on: dt.date
    status: str
    revision: int
    meeting: str | None
    history: tuple[dict, ...] = field(default=())
    today: dt.date = field(default_factory=dt.date.today)

    @property
    def overdue(self) -> bool:
        return self.status in ("open", "in_progress") and self.due_on < self.today

    @property
    def days_overdue(self) -> int:
        return (self.today - self.due_on).days if self.overdue else 0


class Workspace:
    """The Committee's record in a database (SQLite by default, PostgreSQL by URL).

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default ``$MADAD_DATABASE_URL`` or the embedded SQLite file
        (:func:`simulator.workspace.db.database_url`). The schema is migrated on open.
    today : callable, optional
        Returns today's date (for overdue action points); tests pass a fixed one.
    runs_root : str or Path, optional
        Only run folders under this folder may be submitted (a server that takes folder paths
        from its users, like the app, sets it so that no other file of the server is read).
    """

    def __init__(self, url: str | None = None, *, today: Callable[[], dt.date] | None = None,
                 runs_root: str | Path | None = None) -> None:
        self.engine = make_engine(url)
        migrate(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self._today = today or dt.date.today
        self.runs_root = None if runs_root is None else Path(runs_root).resolve()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # -- transactions, actors, audit --------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction; a lost optimistic check or a unique clash becomes ConflictError."""
        try:
            with self._session.begin() as s:
                yield s
        except StaleDataError as exc:
            raise ConflictError(
                "someone changed this record while you were editing it; reload it and try again."
            ) from exc
        except IntegrityError as exc:
            raise ConflictError(
                f"the change clashes with one made meanwhile ({_first_line(exc)}); reload and "
                "try again."
            ) from exc
        except OperationalError as exc:
            if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
                raise ConflictError(f"the workspace is busy ({_first_line(exc)}); try again.") from exc
            raise WorkspaceError(f"workspace database error: {_first_line(exc)}") from exc

    def _actor(self, s: Session, who: Actor | str) -> Actor:
        username = who.username if isinstance(who, Actor) else str(who)
        row = s.execute(
            select(Member, Organisation).join(Organisation, Member.organisation_id == Organisation.id)
            .where(Member.username == username)
        ).first()
        if row is None:
            raise ForbiddenError(f"{username!r} is not a member of this workspace.")
        m, o = row
        if not m.active:
            raise ForbiddenError(f"{username!r} is no longer an active member.")
        return Actor(m.id, m.username, m.name, o.code, o.level, o.province_code, o.signs_for,
                     m.role, m.view)

    def _allow(self, s: Session, who: Actor | str, action: str, target: str, **context: Any) -> Actor:
        actor = self._actor(s, who)
        why = refusal(actor, action, **context)
        if why is not None:
            s.rollback()
            with self._tx() as s2:
                self._audit(s2, actor, action, target, "refused", {"reason": why})
            raise ForbiddenError(f"{actor.username} ({actor.organisation}, {actor.role}): "
                                 f"{action} on {target} refused: {why}.")
        return actor

    def _audit(self, s: Session, actor: Actor | None, action: str, target: str, outcome: str,
               detail: dict | None = None) -> None:
        head = s.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()
        event = {
            "id": head.seq + 1,
            "at": _now(),
            "actor": actor.username if actor else "-",
            "organisation": actor.organisation if actor else "-",
            "action": action,
            "target": target[:200],
            "outcome": outcome,
            "detail": _canonical(detail or {}).decode("ascii"),
        }
        digest = _chain(head.last_hash, event)
        s.add(AuditEvent(**event, prev_hash=head.last_hash, hash=digest))
        head.seq, head.last_hash = event["id"], digest

    # -- set-up ----------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """Whether the workspace has no member yet (:meth:`bootstrap` may run)."""
        with self._session() as s:
            return not s.scalar(select(func.count()).select_from(Member))

    def bootstrap(self, organisations: list[dict], chair: dict) -> Actor:
        """Start an empty workspace: its organisations and its first member, the chair.

        Parameters
        ----------
        organisations : list of dict
            Rows of ``data/committee/organisations.csv`` (code, name, level, province_code,
            signs_for).
        chair : dict
            ``username``, ``name``, ``organisation`` (a code), ``password`` (optional), ``email``
            (optional), ``view`` (default ``planner``).

        Raises
        ------
        WorkspaceError
            The workspace already has members, or a row is malformed.
        """
        with self._tx() as s:
            if s.scalar(select(func.count()).select_from(Member)):
                raise WorkspaceError(
                    f"{self.url}: the workspace already has members; it is set up. Add members "
                    "with `madad workspace member add` as its chair or secretariat."
                )
            for row in organisations:
                s.add(_organisation(row))
            s.flush()
            m = self._new_member(s, chair | {"role": "chair"})
            s.flush()
            actor = self._actor(s, m.username)
            self._audit(s, actor, "workspace.bootstrap", self.url, "done",
                        {"organisations": [r["code"] for r in organisations]})
            return actor

    def _new_member(self, s: Session, spec: dict) -> Member:
        username = str(spec.get("username", ""))
        if not _USER_RE.fullmatch(username):
            raise WorkspaceError(f"username {username!r}: use 2-63 lower-case letters, digits, "
                                 "dots, dashes or underscores.")
        role, view = spec.get("role", "member"), spec.get("view", "planner")
        if role not in ROLES or view not in VIEWS:
            raise WorkspaceError(f"member {username}: role must be one of {list(ROLES)} and view "
                                 f"one of {list(VIEWS)} (got {role!r}, {view!r}).")
        org = s.scalar(select(Organisation).where(Organisation.code == spec.get("organisation")))
        if org is None:
            raise WorkspaceError(f"member {username}: no organisation {spec.get('organisation')!r}"
                                 " in the workspace; add it first (`madad workspace org add`).")
        password = spec.get("password")
        member = Member(
            username=username, name=str(spec.get("name") or username), email=spec.get("email"),
            organisation_id=org.id, role=role, view=view,
            password_hash=_hash_password(password) if password else None, active=True,
            created_at=_now(),
        )
        s.add(member)
        return member

    def add_organisation(self, who: Actor | str, row: dict) -> None:
        """Add an organisation (chair or secretariat)."""
        with self._tx() as s:
            actor = self._allow(s, who, "organisation.add", str(row.get("code")))
            s.add(_organisation(row))
            self._audit(s, actor, "organisation.add", str(row.get("code")), "done", dict(row))

    def add_member(self, who: Actor | str, spec: dict) -> None:
        """Add a member (chair or secretariat). ``spec`` as in :meth:`bootstrap`, with ``role``."""
        with self._tx() as s:
            actor = self._allow(s, who, "member.add", str(spec.get("username")))
            m = self._new_member(s, spec)
            self._audit(s, actor, "member.add", m.username, "done",
                        {k: spec.get(k) for k in ("organisation", "role", "view", "email")})

    def update_member(self, who: Actor | str, username: str, *, email: str | None = None,
                      role: str | None = None, view: str | None = None,
                      active: bool | None = None, password: str | None = None) -> None:
        """Change a member's e-mail (for ``st.login``), role, view, password or whether they are
        active (chair or secretariat; a member who leaves the Committee is made inactive, never
        deleted, so the record keeps who did what). Only what is given changes."""
        if role is not None and role not in ROLES:
            raise WorkspaceError(f"role {role!r}: one of {list(ROLES)}.")
        if view is not None and view not in VIEWS:
            raise WorkspaceError(f"view {view!r}: one of {list(VIEWS)}.")
        with self._tx() as s:
            actor = self._allow(s, who, "member.add", username)
            m = s.scalar(select(Member).where(Member.username == username))
            if m is None:
                raise WorkspaceError(f"no member {username!r} (`madad workspace member list`).")
            if m.id == actor.member_id and (active is False or (role and role != m.role)):
                raise WorkspaceError("you cannot deactivate yourself or change your own role; ask "
                                     "another officer of the Committee.")
            changes = {k: v for k, v in (("email", email), ("role", role), ("view", view),
                                         ("active", active)) if v is not None}
            for name, value in changes.items():
                setattr(m, name, value)
            if password is not None:
                m.password_hash = _hash_password(password)
                changes["password"] = "changed"
            if not changes:
                raise WorkspaceError("nothing to change: give an e-mail, role, view, password or "
                                     "active state.")
            self._audit(s, actor, "member.update", username, "done", changes)

    def register_key(self, who: Actor | str, organisation: str, identity: str | Path) -> str:
        """Register an organisation's public identity (``<org>.identity.json`` from ``madad
        exchange keygen``); its signatures are checked against it. Returns the key id."""
        path = Path(identity)
        try:
            text = path.read_text(encoding="utf-8")
            public = identity_from_json(json.loads(text), str(path))
        except (OSError, ValueError, ExchangeError) as exc:
            raise WorkspaceError(f"{path}: not a usable identity file ({exc}).") from exc
        if public.agency_id != organisation:
            raise WorkspaceError(f"{path} is the identity of {public.agency_id}, not of "
                                 f"{organisation}; give {organisation}.identity.json.")
        with self._tx() as s:
            actor = self._allow(s, who, "key.register", organisation, organisation=organisation)
            org = s.scalar(select(Organisation).where(Organisation.code == organisation))
            if org is None:
                raise WorkspaceError(f"no organisation {organisation!r} in the workspace.")
            previous = org.key_id
            org.key_id, org.identity_json = public.key_id, text
            self._audit(s, actor, "key.register", organisation, "done",
                        {"key_id": public.key_id, "replaces": previous})
        return public.key_id

    # -- sign-in ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> Actor:
        """Check a local account's password (Argon2id); the member as an :class:`Actor`.

        Raises
        ------
        ForbiddenError
            Unknown member, inactive, no local password, or a wrong password (all audited, with
            one message so that the reply does not tell which).
        """
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError, VerifyMismatchError

        with self._tx() as s:
            m = s.scalar(select(Member).where(Member.username == username))
            ok = False
            if m is not None and m.active and m.password_hash:
                try:
                    ok = PasswordHasher().verify(m.password_hash, password)
                except (VerifyMismatchError, VerificationError):
                    ok = False
            if not ok:
                self._audit(s, None, "login", str(username)[:64], "refused", {})
            else:
                self._audit(s, self._actor(s, username), "login", username, "done",
                            {"method": "password"})
        if not ok:
            raise ForbiddenError("unknown member or wrong password.")
        with self._session() as s:
            return self._actor(s, username)

    def actor_for_email(self, email: str) -> Actor:
        """The member whose e-mail an identity provider reported (``st.login``)."""
        with self._session() as s:
            username = s.scalar(select(Member.username).where(Member.email == email))
            if username is None:
                raise ForbiddenError(f"{email} is not the e-mail of any member of this workspace; "
                                     "ask the secretariat to add you.")
            return self._actor(s, username)

    def actor(self, username: str) -> Actor:
        """The member ``username`` (no password check: for trusted local scripts and tests)."""
        with self._session() as s:
            return self._actor(s, username)

    def members(self) -> list[dict]:
        """Members and their organisations (no password hashes)."""
        with self._session() as s:
            rows = s.execute(select(Member, Organisation)
                             .join(Organisation, Member.organisation_id == Organisation.id)
                             .order_by(Member.username)).all()
            return [{"username": m.username, "name": m.name, "organisation": o.code,
                     "role": m.role, "view": m.view, "active": m.active,
                     "local_account": bool(m.password_hash)} for m, o in rows]

    def organisations(self) -> list[dict]:
        """Organisations, with their signing jurisdiction and registered key id."""
        with self._session() as s:
            return [{"code": o.code, "name": o.name, "level": o.level,
                     "province_code": o.province_code, "signs_for": o.signs_for,
                     "key_id": o.key_id}
                    for o in s.scalars(select(Organisation).order_by(Organisation.id))]

    # -- plans -----------------------------------------------------------------------------

    def submit(self, who: Actor | str, run_folder: str | Path, *, plan: str, title: str | None = None,
               note: str = "", expected_latest: int | None = None) -> int:
        """Submit a run folder as a new plan, or as the next version of ``plan``.

        Parameters
        ----------
        run_folder : str or Path
            A folder written by ``madad run`` (its manifest is checked).
        plan : str
            The plan's short code (``indus-2026``); a new code starts a new plan.
        title : str, optional
            The new plan's title (default: the scenario's title).
        note : str
            What changed in this version.
        expected_latest : int, optional
            The version the submitter last saw; if someone submitted another meanwhile, the
            submission is refused (ConflictError) instead of silently stacking on it.

        Returns
        -------
        int
            The new version's number.
        """
        from simulator.publish.runs import load_run

        if not _CODE_RE.fullmatch(plan or ""):
            raise WorkspaceError(f"plan code {plan!r}: use lower-case letters, digits and dashes.")
        folder = Path(run_folder)
        if self.runs_root is not None and not folder.resolve().is_relative_to(self.runs_root):
            raise WorkspaceError(f"{folder}: plans are submitted from run folders under "
                                 f"{self.runs_root} only; write the run there "
                                 f"(`madad run SCENARIO --out {self.runs_root}/NAME`).")
        run = load_run(folder)  # checks the manifest; ExportError names the fix
        if run.outputs is None:
            raise WorkspaceError(f"{folder}: has no manifest.json, so it cannot be a plan version; "
                                 "run the scenario with `madad run SCENARIO --out DIR`.")
        manifest_bytes = (folder / "manifest.json").read_bytes()
        manifest = json.loads(manifest_bytes)
        plan_bytes = (folder / "plan.json").read_bytes()
        m_sha = hashlib.sha256(manifest_bytes).hexdigest()
        p_sha = manifest["outputs"]["plan.json"]
        h_sha = manifest["outputs"]["households.parquet"]
        need = jurisdictions(run.plan)
        scenario = str((manifest.get("scenario") or {}).get("name") or run.plan["scenario"].get("name"))
        with self._tx() as s:
            actor = self._allow(s, who, "plan.submit", plan)
            row = s.scalar(select(Plan).where(Plan.code == plan))
            if row is None:
                if expected_latest not in (None, 0):
                    raise ConflictError(f"plan {plan} does not exist (expected version "
                                        f"{expected_latest}).")
                row = Plan(code=plan, title=title or str(run.plan["scenario"].get("title") or plan),
                           latest=0, created_by=actor.member_id, created_at=_now())
                s.add(row)
                s.flush()
            elif expected_latest is not None and row.latest != expected_latest:
                raise ConflictError(
                    f"plan {plan} is at version {row.latest}, not {expected_latest}: someone "
                    "submitted a version meanwhile. Look at it (`madad workspace status`) first."
                )
            if row.latest:
                last = s.scalar(select(PlanVersion).where(PlanVersion.plan_id == row.id,
                                                          PlanVersion.number == row.latest))
                if last is not None and last.manifest_sha256 == m_sha:
                    raise WorkspaceError(f"{folder} is already version {row.latest} of {plan}; "
                                         "nothing changed.")
            for sha, content in ((m_sha, manifest_bytes), (p_sha, plan_bytes)):
                if s.get(Blob, sha) is None:
                    s.add(Blob(sha256=sha, size=len(content), content=content))
            number = row.latest + 1
            row.latest = number  # the optimistic check on plans.revision guards this
            s.add(PlanVersion(
                plan_id=row.id, number=number, manifest_sha256=m_sha, plan_sha256=p_sha,
                households_sha256=h_sha, run_folder=str(folder.resolve()), scenario=scenario,
                required=",".join(need), note=note, created_by=actor.member_id, created_at=_now(),
            ))
            self._audit(s, actor, "plan.submit", f"{plan} v{number}", "done",
                        {"manifest_sha256": m_sha, "run_folder": str(folder.resolve()),
                         "required": need, "note": note})
        log.info("submitted %s as %s version %d", folder, plan, number)
        return number

    def _version(self, s: Session, plan: str, version: int | None) -> tuple[Plan, PlanVersion]:
        row = s.scalar(select(Plan).where(Plan.code == plan))
        if row is None:
            raise WorkspaceError(f"no plan {plan!r} in the workspace (`madad workspace status` "
                                 "lists them).")
        number = row.latest if version is None else int(version)
        v = s.scalar(select(PlanVersion).where(PlanVersion.plan_id == row.id,
                                               PlanVersion.number == number))
        if v is None:
            raise WorkspaceError(f"plan {plan} has no version {number} (it has 1..{row.latest}).")
        return row, v

    def review(self, who: Actor | str, plan: str, version: int | None, kind: str,
               text: str = "") -> None:
        """Comment on a version or request changes. Approving is :meth:`approve` (signed)."""
        if kind == "approve":
            raise WorkspaceError("an approval is signed with the organisation's key: use "
                                 "approve (`madad workspace sign`), not a review.")
        if kind not in REVIEW_KINDS:
            raise WorkspaceError(f"review kind {kind!r}: one of comment, request_changes.")
        with self._tx() as s:
            row, v = self._version(s, plan, version)
            target = f"{plan} v{v.number}"
            actor = self._allow(s, who, f"plan.{kind}", target)
            org_id = s.scalar(select(Member.organisation_id).where(Member.id == actor.member_id))
            s.add(Review(version_id=v.id, member_id=actor.member_id, organisation_id=org_id,
                         kind=kind, text=text, created_at=_now()))
            self._audit(s, actor, f"plan.{kind}", target, "done", {"text": text[:500]})

    def approve(self, who: Actor | str, plan: str, version: int | None,
                key: PrivateIdentity | str | Path, *, passphrase: str | None = None,
                text: str = "") -> signing.SignedApproval:
        """Approve a version for the member's jurisdiction, signed with its organisation's key.

        The signature covers the version's manifest hash; it is checked against the key the
        organisation registered before it is stored.

        Raises
        ------
        ForbiddenError
            Observers, organisations that sign for no jurisdiction or for one the version does
            not need.
        WorkspaceError
            No key registered, or the key given is not the registered one.
        ConflictError
            The jurisdiction has already signed this version.
        """
        private = load_private(key, passphrase=passphrase)
        with self._tx() as s:
            row, v = self._version(s, plan, version)
            target = f"{plan} v{v.number}"
            required = tuple(v.required.split(","))
            actor = self._actor(s, who)
            actor = self._allow(s, who, "plan.approve", target,
                                jurisdiction=actor.signs_for or "", required=required)
            org = s.get(Organisation, s.scalar(select(Member.organisation_id)
                                               .where(Member.id == actor.member_id)))
            if not org.identity_json:
                raise WorkspaceError(f"{org.code} has no registered key; register its identity "
                                     f"first (`madad workspace key {org.code} "
                                     f"{org.code}.identity.json`).")
            body = signing.payload(
                plan=plan, version=v.number, manifest_sha256=v.manifest_sha256,
                plan_sha256=v.plan_sha256, jurisdiction=actor.signs_for, organisation=org.code,
                key_id=org.key_id, member=actor.username, signed_utc=_now(),
            )
            approval = signing.sign(body, private)
            signing.verify(approval, identity_from_json(json.loads(org.identity_json)))
            exists = s.scalar(select(Signature).where(Signature.version_id == v.id,
                                                      Signature.jurisdiction == actor.signs_for))
            if exists is not None:
                raise ConflictError(f"{actor.signs_for} has already signed {target} "
                                    f"({exists.signed_at}).")
            s.add(Signature(version_id=v.id, organisation_id=org.id, member_id=actor.member_id,
                            jurisdiction=actor.signs_for, key_id=org.key_id,
                            payload=approval.payload_json, signature_b64=approval.signature_b64,
                            signed_at=body["signed_utc"], identity_json=org.identity_json))
            s.add(Review(version_id=v.id, member_id=actor.member_id, organisation_id=org.id,
                         kind="approve", text=text, created_at=body["signed_utc"]))
            self._audit(s, actor, "plan.approve", target, "done",
                        {"jurisdiction": actor.signs_for, "key_id": org.key_id,
                         "manifest_sha256": v.manifest_sha256})
        return approval

    def status(self, who: Actor | str, plan: str | None = None) -> list[PlanStatus]:
        """Plans (or one plan) with their versions, signatures (re-verified) and reviews."""
        with self._session() as s:
            self._allow(s, who, "plan.read", plan or "*")
            q = select(Plan).order_by(Plan.id)
            if plan is not None:
                q = q.where(Plan.code == plan)
            plans = list(s.scalars(q))
            if plan is not None and not plans:
                raise WorkspaceError(f"no plan {plan!r} in the workspace.")
            orgs = {o.id: o for o in s.scalars(select(Organisation))}
            users = dict(s.execute(select(Member.id, Member.username)).all())
            out = []
            for p in plans:
                versions = []
                for v in s.scalars(select(PlanVersion).where(PlanVersion.plan_id == p.id)
                                   .order_by(PlanVersion.number)):
                    sigs = {}
                    for g in s.scalars(select(Signature).where(Signature.version_id == v.id)):
                        org = orgs[g.organisation_id]
                        sigs[g.jurisdiction] = {
                            "organisation": org.code, "member": users.get(g.member_id),
                            "key_id": g.key_id, "signed_at": g.signed_at,
                            "valid": _valid(g, org, v),
                        }
                    reviews = tuple(
                        {"kind": r.kind, "member": users.get(r.member_id),
                         "organisation": orgs[r.organisation_id].code, "text": r.text,
                         "at": r.created_at}
                        for r in s.scalars(select(Review).where(Review.version_id == v.id)
                                           .order_by(Review.id)))
                    versions.append(VersionStatus(
                        v.number, v.manifest_sha256, v.scenario, users.get(v.created_by, "?"),
                        v.created_at, v.note, tuple(v.required.split(",")), sigs, reviews,
                        _totals(s, v.plan_sha256),
                    ))
                out.append(PlanStatus(p.code, p.title, tuple(versions)))
            return out

    def plan_document(self, who: Actor | str, plan: str, version: int | None = None) -> dict:
        """A version's ``plan.json`` (aggregates; anyone on the Committee may read it)."""
        with self._session() as s:
            _, v = self._version(s, plan, version)
            self._allow(s, who, "plan.read", f"{plan} v{v.number}")
            return json.loads(s.get(Blob, v.plan_sha256).content)

    def manifest(self, who: Actor | str, plan: str, version: int | None = None) -> dict:
        """A version's ``manifest.json``."""
        with self._session() as s:
            _, v = self._version(s, plan, version)
            self._allow(s, who, "plan.read", f"{plan} v{v.number}")
            return json.loads(s.get(Blob, v.manifest_sha256).content)

    def signatures(self, who: Actor | str, plan: str, version: int | None = None) -> dict:
        """A version's signatures as a signature file (:func:`signing.signature_file`), for
        checking outside the database (``madad workspace verify``)."""
        with self._session() as s:
            _, v = self._version(s, plan, version)
            self._allow(s, who, "plan.read", f"{plan} v{v.number}")
            rows = s.execute(select(Signature, Organisation)
                             .join(Organisation, Signature.organisation_id == Organisation.id)
                             .where(Signature.version_id == v.id).order_by(Signature.id)).all()
            return signing.signature_file([
                (signing.SignedApproval(json.loads(g.payload), g.signature_b64),
                 g.identity_json or o.identity_json)
                for g, o in rows])

    def diff(self, who: Actor | str, plan: str, a: int, b: int) -> dict:
        """What changed between two versions: policy, totals, provinces and districts.

        Returns
        -------
        dict
            ``policy``: rows ``{field, a, b}`` of the scenario fields that differ (from each
            version's manifest); ``totals``, ``provinces``, ``districts``: rows with the figure
            in each version and the change, only where it changed.
        """
        with self._session() as s:
            _, va = self._version(s, plan, a)
            _, vb = self._version(s, plan, b)
            self._allow(s, who, "plan.read", f"{plan} v{a}..v{b}")
            ma, mb = (json.loads(s.get(Blob, v.manifest_sha256).content) for v in (va, vb))
            pa, pb = (json.loads(s.get(Blob, v.plan_sha256).content) for v in (va, vb))
        from simulator.workspace.diff import plan_diff

        return plan_diff(ma, mb, pa, pb)

    def household_list(self, who: Actor | str, plan: str, version: int | None = None):
        """The households of a version that the member's own agency pays, read from the
        submitted run folder after checking its SHA-256.

        A federal organisation's planner gets the households the federal programmes pay; a
        provincial one's gets its own province's paid households. Ministers, authorities and
        development partners are refused (aggregates only).

        Returns
        -------
        pandas.DataFrame
        """
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from simulator.scenario import file_sha256

        with self._session() as s:
            _, v = self._version(s, plan, version)
            target = f"{plan} v{v.number}"
            actor = self._allow(s, who, "plan.households", target)
            path = Path(v.run_folder) / "households.parquet"
        if not path.is_file():
            raise WorkspaceError(f"{path}: the household table of {target} is not there any more; "
                                 "the run folder was moved. Restore it where it was submitted.")
        if file_sha256(path) != v.households_sha256:
            raise WorkspaceError(f"{path}: differs from the household table submitted as {target} "
                                 "(its SHA-256 changed); the folder was rerun or altered.")
        table = pq.read_table(path)
        if actor.level == "federal":
            keep = pc.greater(table["federal_pkr"], 0)
        else:
            keep = pc.and_(pc.equal(pc.cast(table["province_code"], "string"), actor.province_code),
                           pc.greater(table["amount_pkr"], 0))
        out = table.filter(keep).to_pandas()
        with self._tx() as s:
            self._audit(s, actor, "plan.households", target, "done", {"rows": len(out)})
        return out

    def signed_plan(self, who: Actor | str, plan: str, version: int | None = None) -> dict:
        """A version's ``plan.json`` with its sign-off filled from the workspace: plan code,
        version, manifest hash, the jurisdictions required, and every signature (organisation,
        member, time, key id, re-verified), for the xlsx and PDF exports."""
        states = self.status(who, plan)
        doc = self.plan_document(who, plan, version)
        v = next(x for x in states[0].versions
                 if x.number == (version or states[0].latest.number))
        orgs = {o["code"]: o["name"] for o in self.organisations()}
        names = {m["username"]: m["name"] for m in self.members()}
        doc["sign_off"] = dict(doc.get("sign_off") or {}) | {
            "plan_code": plan,
            "version": v.number,
            "manifest_sha256": v.manifest_sha256,
            "required": list(v.required),
            "jointly_approved": v.jointly_approved,
            "signatures": [
                {"jurisdiction": j, "organisation": g["organisation"],
                 "organisation_name": orgs.get(g["organisation"], g["organisation"]),
                 "member": g["member"], "member_name": names.get(g["member"], g["member"]),
                 "signed_at": g["signed_at"], "key_id": g["key_id"], "valid": g["valid"]}
                for j, g in sorted(v.signatures.items())],
        }
        return doc

    def export_plan(self, who: Actor | str, plan: str, version: int | None, fmt: str,
                    out: str | Path) -> Path:
        """Write a version's plan workbook (``xlsx``) or brief (``pdf``) with its signatures.

        The run folder submitted for the version is read again and must still match the
        version's manifest hash (a rerun into the same folder is refused)."""
        from simulator.publish.export import export, load_run

        if fmt not in ("xlsx", "pdf"):
            raise WorkspaceError(f"format {fmt!r}: a signed plan exports to xlsx or pdf.")
        doc = self.signed_plan(who, plan, version)
        with self._session() as s:
            _, v = self._version(s, plan, version)
            folder = Path(v.run_folder)
        manifest = folder / "manifest.json"
        if not manifest.is_file() or (
                hashlib.sha256(manifest.read_bytes()).hexdigest() != v.manifest_sha256):
            raise WorkspaceError(f"{folder}: is not the run folder submitted as {plan} v{v.number} "
                                 "any more (moved or rerun); restore it to export the signed plan.")
        run = load_run(folder)
        run.plan = doc
        return export(run, fmt, out)

    def export_minutes(self, who: Actor | str, fmt: str, out: str | Path) -> Path:
        """Write the meetings' minutes and the action tracker to ``xlsx`` or ``pdf``."""
        from simulator.publish import committee

        if fmt not in ("xlsx", "pdf"):
            raise WorkspaceError(f"format {fmt!r}: minutes export to xlsx or pdf.")
        meetings = self.meetings(who)
        actions = [{"id": a.id, "title": a.title, "owner": a.owner, "due_on": a.due_on,
                    "status": a.status, "revision": a.revision, "meeting": a.meeting,
                    "overdue": a.overdue, "days_overdue": a.days_overdue,
                    "history": list(a.history)} for a in self.actions(who)]
        write = committee.write_minutes_xlsx if fmt == "xlsx" else committee.write_minutes_pdf
        return write(meetings, actions, out, as_of=self._today())

    # -- meetings and action points --------------------------------------------------------

    def meeting(self, who: Actor | str, held_on: dt.date, title: str, agenda: str = "") -> int:
        """Record a Committee meeting; its id."""
        with self._tx() as s:
            actor = self._allow(s, who, "meeting.create", title)
            m = Meeting(held_on=held_on, title=title, agenda=agenda, minutes="",
                        created_by=actor.member_id, created_at=_now())
            s.add(m)
            s.flush()
            self._audit(s, actor, "meeting.create", f"meeting {m.id}", "done",
                        {"held_on": held_on.isoformat(), "title": title})
            return m.id

    def record_minutes(self, who: Actor | str, meeting_id: int, minutes: str, *,
                       expected_revision: int | None = None) -> int:
        """Set a meeting's minutes; the new revision. ``expected_revision`` guards against
        overwriting minutes someone else saved meanwhile."""
        with self._tx() as s:
            actor = self._allow(s, who, "meeting.minutes", f"meeting {meeting_id}")
            m = s.get(Meeting, meeting_id)
            if m is None:
                raise WorkspaceError(f"no meeting {meeting_id}.")
            if expected_revision is not None and m.revision != expected_revision:
                raise ConflictError(f"meeting {meeting_id}'s minutes were saved by someone else "
                                    f"meanwhile (revision {m.revision}, you had "
                                    f"{expected_revision}); reload them.")
            m.minutes = minutes
            flag_modified(m, "minutes")  # a save is a new revision even when the text is the same
            s.flush()
            self._audit(s, actor, "meeting.minutes", f"meeting {meeting_id}", "done",
                        {"chars": len(minutes)})
            return m.revision

    def meetings(self, who: Actor | str) -> list[dict]:
        """Meetings, newest first, with their action points' ids."""
        with self._session() as s:
            self._allow(s, who, "plan.read", "meetings")
            out = []
            for m in s.scalars(select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id)):
                ids = list(s.scalars(select(ActionPoint.id).where(ActionPoint.meeting_id == m.id)))
                out.append({"id": m.id, "held_on": m.held_on, "title": m.title, "agenda": m.agenda,
                            "minutes": m.minutes, "revision": m.revision, "actions": ids})
            return out

    def add_action(self, who: Actor | str, title: str, owner: str, due_on: dt.date, *,
                   meeting_id: int | None = None) -> int:
        """Add an action point owned by an organisation; its id."""
        with self._tx() as s:
            actor = self._allow(s, who, "action.add", title[:80])
            org = s.scalar(select(Organisation).where(Organisation.code == owner))
            if org is None:
                raise WorkspaceError(f"no organisation {owner!r} to own the action point.")
            if meeting_id is not None and s.get(Meeting, meeting_id) is None:
                raise WorkspaceError(f"no meeting {meeting_id}.")
            a = ActionPoint(meeting_id=meeting_id, title=title, owner_id=org.id, due_on=due_on,
                            status="open", created_by=actor.member_id, created_at=_now())
            s.add(a)
            s.flush()
            s.add(ActionEvent(action_id=a.id, revision=a.revision, status="open", note="added",
                              member_id=actor.member_id, at=_now()))
            self._audit(s, actor, "action.add", f"action {a.id}", "done",
                        {"owner": owner, "due_on": due_on.isoformat(), "title": title})
            return a.id

    def update_action(self, who: Actor | str, action_id: int, status: str, note: str = "", *,
                      expected_revision: int | None = None) -> int:
        """Change an action point's status; the new revision (history kept)."""
        if status not in ACTION_STATUSES:
            raise WorkspaceError(f"status {status!r}: one of {list(ACTION_STATUSES)}.")
        with self._tx() as s:
            a = s.get(ActionPoint, action_id)
            if a is None:
                raise WorkspaceError(f"no action point {action_id}.")
            owner = s.get(Organisation, a.owner_id).code
            actor = self._allow(s, who, "action.update", f"action {action_id}", owner=owner)
            if expected_revision is not None and a.revision != expected_revision:
                raise ConflictError(f"action point {action_id} was updated by someone else "
                                    f"meanwhile (revision {a.revision}, you had "
                                    f"{expected_revision}); reload it.")
            a.status = status
            flag_modified(a, "status")  # a note with the same status is still a new revision
            s.flush()
            s.add(ActionEvent(action_id=a.id, revision=a.revision, status=status, note=note,
                              member_id=actor.member_id, at=_now()))
            self._audit(s, actor, "action.update", f"action {action_id}", "done",
                        {"status": status, "note": note[:500], "revision": a.revision})
            return a.revision

    def actions(self, who: Actor | str, *, overdue: bool = False) -> list[ActionView]:
        """The action tracker (anyone on the Committee): every action point, or only those
        past their due date and not done."""
        today = self._today()
        with self._session() as s:
            self._allow(s, who, "plan.read", "actions")
            orgs = {o.id: o.code for o in s.scalars(select(Organisation))}
            users = dict(s.execute(select(Member.id, Member.username)).all())
            titles = dict(s.execute(select(Meeting.id, Meeting.title)).all())
            out = []
            for a in s.scalars(select(ActionPoint).order_by(ActionPoint.due_on, ActionPoint.id)):
                history = tuple(
                    {"revision": e.revision, "status": e.status, "note": e.note,
                     "member": users.get(e.member_id), "at": e.at}
                    for e in s.scalars(select(ActionEvent).where(ActionEvent.action_id == a.id)
                                       .order_by(ActionEvent.id)))
                out.append(ActionView(a.id, a.title, orgs[a.owner_id], a.due_on, a.status,
                                      a.revision, titles.get(a.meeting_id), history, today))
        return [a for a in out if a.overdue] if overdue else out

    # -- backup ----------------------------------------------------------------------------

    def backup(self, who: Actor | str, path: str | Path) -> dict:
        """Back up the whole workspace to ``path`` (chair or secretariat); see
        :mod:`simulator.workspace.backup`. Returns the backup's header."""
        from simulator.workspace import backup as _backup

        with self._tx() as s:
            actor = self._allow(s, who, "backup", str(path))
            self._audit(s, actor, "backup", str(path), "done", {})
        return _backup.backup(self, path)

    # -- audit -----------------------------------------------------------------------------

    def audit(self, who: Actor | str, *, limit: int | None = None) -> list[dict]:
        """The audit trail, oldest first (chair or secretariat)."""
        with self._session() as s:
            self._allow(s, who, "audit.read", "audit")
            q = select(AuditEvent).order_by(AuditEvent.id)
            rows = list(s.scalars(q))
        rows = rows[-limit:] if limit else rows
        return [{c: getattr(e, c) for c in ("id", "at", "actor", "organisation", "action",
                                              "target", "outcome", "detail", "hash")}
                for e in rows]

    def verify_audit(self) -> int:
        """Recompute the audit chain; the number of events checked.

        Raises
        ------
        WorkspaceError
            An event was changed, removed or reordered (names the first one).
        """
        with self._session() as s:
            head = s.get(AuditHead, 1)
            prev, n = _GENESIS, 0
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id)):
                n += 1
                event = {k: getattr(e, k) for k in ("id", "at", "actor", "organisation", "action",
                                                    "target", "outcome", "detail")}
                if e.id != n or e.prev_hash != prev or _chain(prev, event) != e.hash:
                    raise WorkspaceError(f"audit event {e.id} ({e.action} by {e.actor} at {e.at}) "
                                         "does not follow the chain: the trail was altered.")
                prev = e.hash
            if head.seq != n or head.last_hash != prev:
                raise WorkspaceError(f"the audit head says {head.seq} events, the trail holds {n}: "
                                     "events were removed.")
        return n


#: A plan.json's totals by its SHA-256: content never changes under its hash, so the status of
#: every plan (each page view of the Committee page) need not read and parse each version's
#: plan.json (about 1.4 MB for the demo) again.
_TOTALS: dict[str, dict] = {}


def _totals(s: Session, sha256: str) -> dict:
    if sha256 not in _TOTALS:
        doc = json.loads(s.get(Blob, sha256).content)
        _TOTALS[sha256] = dict(doc.get("totals") or {})
    return dict(_TOTALS[sha256])


def _chain(prev: str, event: dict) -> str:
    return hashlib.sha256(prev.encode("ascii") + _canonical(event)).hexdigest()


def _valid(g: Signature, org: Organisation, v: PlanVersion) -> bool:
    """Whether a stored signature still verifies against the identity it was made with (the
    organisation's, when it was made before signatures kept theirs) and is over this version."""
    try:
        approval = signing.SignedApproval(json.loads(g.payload), g.signature_b64)
        identity = g.identity_json or org.identity_json or "null"
        signing.verify(approval, identity_from_json(json.loads(identity)))
    except (WorkspaceError, ExchangeError, ValueError):
        return False
    body = approval.payload
    return (body.get("manifest_sha256") == v.manifest_sha256
            and body.get("jurisdiction") == g.jurisdiction and body.get("key_id") == g.key_id)


def _hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < 10:
        raise WorkspaceError("a password must have at least 10 characters.")
    return PasswordHasher().hash(password)


def _organisation(row: dict) -> Organisation:
    code = str(row.get("code", ""))
    if not _CODE_RE.fullmatch(code):
        raise WorkspaceError(f"organisation code {code!r}: use lower-case letters, digits and "
                             "dashes (the same id as its exchange keys).")
    level = row.get("level")
    if level not in LEVELS:
        raise WorkspaceError(f"organisation {code}: level {level!r} is not one of {list(LEVELS)}.")
    province = row.get("province_code") or None
    signs = row.get("signs_for") or None
    if level == "provincial" and province not in PROVINCES:
        raise WorkspaceError(f"organisation {code}: a provincial body needs province_code, one of "
                             f"{list(PROVINCES)}.")
    if signs is not None and signs not in ("federal", *PROVINCES):
        raise WorkspaceError(f"organisation {code}: signs_for {signs!r} is not federal or one of "
                             f"{list(PROVINCES)}.")
    if signs in PROVINCES and signs != province:
        raise WorkspaceError(f"organisation {code}: a province's signatory must be of that "
                             f"province (signs_for {signs}, province {province}).")
    if signs == "federal" and level != "federal":
        raise WorkspaceError(f"organisation {code}: only a federal body signs for federal.")
    return Organisation(code=code, name=str(row.get("name") or code), level=level,
                        province_code=province, signs_for=signs, created_at=_now())


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig or exc).strip().splitlines() or [""])[0][:200]
