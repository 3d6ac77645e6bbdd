"""The Committee's record as tables (SQLAlchemy 2 declarative models).

The schema itself is created and changed only by the Alembic migrations in
``simulator/workspace/migrations/versions``; ``tests/test_workspace_db.py`` checks that the
migrated schema and these models agree. Timestamps are ISO 8601 UTC text (``2026-11-30T21:40:00Z``)
so that they hash, back up and restore identically on SQLite and PostgreSQL; calendar dates
(meetings, due dates) are ``DATE``.

Rows that record what happened (plan versions, reviews, signatures, action history, the audit
trail) are only ever inserted. Rows that change (a plan's head, a meeting's minutes, an action
point's status) carry a ``revision`` that SQLAlchemy checks on every update (optimistic
concurrency: a stale update raises instead of overwriting someone else's).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActionEvent",
    "ActionPoint",
    "AuditEvent",
    "AuditHead",
    "Base",
    "Blob",
    "Meeting",
    "Member",
    "Organisation",
    "Plan",
    "PlanVersion",
    "Review",
    "Signature",
    "LEVELS",
    "ROLES",
    "VIEWS",
    "REVIEW_KINDS",
    "ACTION_STATUSES",
]

#: Kinds of organisation on the Committee.
LEVELS = ("federal", "provincial", "partner")
#: Committee roles of a member.
ROLES = ("chair", "secretariat", "member", "observer")
#: What a member may see: ``planner`` (its own agency's household lists too), ``authority``
#: (a disaster management authority: aggregates) or ``minister`` (aggregates).
VIEWS = ("planner", "authority", "minister")
#: A review is a comment, a request for changes or an approval.
REVIEW_KINDS = ("comment", "request_changes", "approve")
#: Status of an action point.
ACTION_STATUSES = ("open", "in_progress", "done", "dropped")

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints the same way
    on every database."""

    metadata = MetaData(naming_convention=_NAMING)


class Organisation(Base):
    """A federal body, a provincial body or a development partner on the Committee."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(_one_of("level", LEVELS), name="level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short lower-case id, the same as its exchange keys' agency id (``sspa-sindh``).
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[str | None] = mapped_column(String(2))
    #: The jurisdiction whose approval it signs: ``federal`` or a province code (one each).
    signs_for: Mapped[str | None] = mapped_column(String(8), unique=True)
    #: Key id of its registered Ed25519 signing key (``madad exchange keygen``).
    key_id: Mapped[str | None] = mapped_column(String(32))
    #: Its public ``.identity.json`` (self-signed), as registered.
    identity_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(32))


class Member(Base):
    """A person who sits on the Committee for an organisation."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(_one_of("role", ROLES), name="role"),
        CheckConstraint(_one_of("view", VIEWS), name="view"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The e-mail an identity provider (``st.login``) reports for this member.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(16))
    view: Mapped[str] = mapped_column(String(16))
    #: Argon2id hash of a local account's password (None: sign in through the identity provider).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[str] = mapped_column(String(32))


class Plan(Base):
    """A joint response plan; its content lives in immutable :class:`PlanVersion` rows."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Short id used on the command line (``indus-2026``).
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    #: Number of the newest version (0 before the first).
    latest: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": revision}


class Blob(Base):
    """File content stored by its SHA-256 (plan.json, manifest.json of a version)."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class PlanVersion(Base):
    """One submitted run folder of a plan, never changed after it is written.

    Its identity is the SHA-256 of the run's ``manifest.json``, which holds the SHA-256 of every
    file of the run; signatures are made over it, so a changed plan is a new version that needs
    new signatures.
    """

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="plan_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    number: Mapped[int] = mapped_column(Integer)
    manifest_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    plan_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    #: The household table stays in the run folder (it holds household ids): referenced by
    #: its SHA-256 and the folder it was submitted from, never copied into the database.
    households_sha256: Mapped[str] = mapped_column(String(64))
    run_folder: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(String(200))
    #: Comma-separated jurisdictions that must sign (``federal,SD``).
    required: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[str] = mapped_column(String(32))


class Review(Base):
    """A comment, a request for changes or an approval of one version."""

    __tablename__ = "reviews"
    __table_args__ = (CheckConstraint(_one_of("kind", REVIEW_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[str] = mapped_column(String(32))


class Signature(Base):
    """A jurisdiction's Ed25519 signature over one version (one per jurisdiction and version).

    ``payload`` is the canonical JSON that was signed; with the organisation's public identity it
    verifies outside the database (:func:`simulator.workspace.signing.verify`).
    """

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("version_id", "jurisdiction", name="version_jurisdiction"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    signature_b64: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[str] = mapped_column(String(32))
    #: The organisation's public identity the signature was checked against when it was made
    #: (revision 0002): a later key change does not orphan earlier signatures.
    identity_json: Mapped[str | None] = mapped_column(Text)


class Meeting(Base):
    """A Committee meeting: date, agenda and (once recorded) minutes."""

    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": revision}


class ActionPoint(Base):
    """An action point: what, which organisation owns it, by when, and its status."""

    __tablename__ = "action_points"
    __table_args__ = (CheckConstraint(_one_of("status", ACTION_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"))
    title: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": revision}


class ActionEvent(Base):
    """One change of an action point (its history)."""

    __tablename__ = "action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action_points.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    at: Mapped[str] = mapped_column(String(32))


class AuditEvent(Base):
    """The append-only audit trail: every action, allowed or refused, hash-chained.

    ``hash`` is SHA-256 over the previous event's hash and this event's canonical JSON, so a
    changed, removed or reordered event breaks the chain
    (:meth:`simulator.workspace.Workspace.verify_audit`). The database also refuses UPDATE and
    DELETE on the table (a trigger made by the migration).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The audit chain's head (one row): its last event number and hash. Updating it in the
    same transaction as the event serialises writers, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
