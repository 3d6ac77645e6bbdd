"""Who may do what in the Committee workspace: one table of rules, checked on the server.

Every action of :class:`simulator.workspace.Workspace` asks :func:`refusal` before it touches the
database, whatever front end called it (the CLI, the app, a script); a refusal raises
:class:`~hazards.errors.ForbiddenError` and is written to the audit trail. The interface only
hides what these rules refuse; it decides nothing.

The rules, by action:

========================  ===============================================================
``organisation.add``      chair or secretariat
``member.add``            chair or secretariat
``key.register``          chair or secretariat, or a member (not an observer) of that organisation
``plan.submit``           any member but an observer (a new plan or a new version)
``plan.comment``          anyone on the Committee, observers included
``plan.request_changes``  any member but an observer
``plan.approve``          a member (not an observer) of the organisation that signs for a
                          jurisdiction the version needs, for that jurisdiction only (a province
                          approves only for itself)
``plan.read``             anyone: plans, versions, totals and diffs are aggregates
``plan.households``       a planner of a federal organisation (the households the federal
                          programmes pay) or of a provincial one (its own province's households);
                          never a minister, an authority or a development partner
``meeting.create``        chair or secretariat
``meeting.minutes``       chair or secretariat
``action.add``            chair or secretariat
``action.update``         chair or secretariat, or a member (not an observer) of the owning
                          organisation
``audit.read``            chair or secretariat
``backup``                chair or secretariat
========================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACTIONS", "Actor", "refusal"]


@dataclass(frozen=True)
class Actor:
    """A signed-in member, as the server knows them (re-read from the database per action)."""

    member_id: int
    username: str
    name: str
    organisation: str
    level: str
    province_code: str | None
    signs_for: str | None
    role: str
    view: str

    @property
    def officer(self) -> bool:
        """Chair or secretariat."""
        return self.role in ("chair", "secretariat")

    @property
    def observer(self) -> bool:
        return self.role == "observer"


def _officer(a: Actor, **_: object) -> str | None:
    return None if a.officer else "only the chair or the secretariat may do this"


def _not_observer(a: Actor, **_: object) -> str | None:
    return "observers may comment but not act on a plan" if a.observer else None


def _anyone(a: Actor, **_: object) -> str | None:
    return None


def _key(a: Actor, organisation: str = "", **_: object) -> str | None:
    if a.officer or (a.organisation == organisation and not a.observer):
        return None
    return f"only the chair, the secretariat or a member of {organisation} may register its key"


def _approve(a: Actor, jurisdiction: str = "", required: tuple[str, ...] = (), **_: object) -> str | None:
    if a.observer:
        return "observers cannot approve"
    if not a.signs_for:
        return f"{a.organisation} signs for no jurisdiction, so it cannot approve a plan"
    if jurisdiction and jurisdiction != a.signs_for:
        return f"{a.organisation} signs for {a.signs_for} only, not for {jurisdiction}"
    if a.signs_for not in required:
        return (f"this version does not need {a.signs_for}'s approval (it needs "
                f"{', '.join(required) or 'none'})")
    return None


def _households(a: Actor, **_: object) -> str | None:
    if a.view != "planner":
        return f"a {a.view}'s view holds aggregates only, not household lists"
    if a.level == "partner":
        return "development partners see aggregates only, not household lists"
    if a.level == "provincial" and not a.province_code:
        return f"{a.organisation} has no province, so no household list is its own"
    return None


def _action_update(a: Actor, owner: str = "", **_: object) -> str | None:
    if a.officer or (a.organisation == owner and not a.observer):
        return None
    return f"only the chair, the secretariat or a member of {owner} (its owner) may update it"


#: Action name -> rule; a rule returns why the action is refused, or None.
ACTIONS = {
    "organisation.add": _officer,
    "member.add": _officer,
    "key.register": _key,
    "plan.submit": _not_observer,
    "plan.comment": _anyone,
    "plan.request_changes": _not_observer,
    "plan.approve": _approve,
    "plan.read": _anyone,
    "plan.households": _households,
    "meeting.create": _officer,
    "meeting.minutes": _officer,
    "action.add": _officer,
    "action.update": _action_update,
    "audit.read": _officer,
    "backup": _officer,
}


def refusal(actor: Actor, action: str, **context: object) -> str | None:
    """Why ``actor`` may not do ``action`` (None: allowed). Unknown actions are refused."""
    rule = ACTIONS.get(action)
    if rule is None:
        return f"unknown action {action!r}"
    return rule(actor, **context)
