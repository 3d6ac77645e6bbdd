"""The Committee page: the Coordination Committee's workspace, where the federal government, the
provinces and the development partners review and sign joint disaster response plans.

Which workspace: ``MADAD_DATABASE_URL`` when it is set (SQLite or PostgreSQL, the Committee's
real record), else the demo workspace (:func:`simulator.workspace.demo.open_demo`, in
``$MADAD_DEMO_WORKSPACE`` or ``$XDG_DATA_HOME/madad/demo-workspace``; seeded on first use with
the demo plan submitted, its accounts and shared password shown on the page). The
:class:`~simulator.workspace.Workspace` is cached per URL or folder.

Sign-in: Streamlit's OIDC login (``st.login``) when ``.streamlit/secrets.toml`` has an ``[auth]``
section (the identity provider's e-mail is mapped to a member), and always a local account's
username and password (Argon2id, checked by :meth:`Workspace.login`). The session keeps the
member's username only (``committee_user``), never a password.

Tabs: Plans (each plan's versions, signatures, what is missing, reviews and totals; review,
approve-and-sign, the planner's own household list, a new version), Compare versions (policy,
totals, provinces and districts), Meetings (and their minutes) and the Action tracker (overdue
items highlighted). Every action goes through :class:`Workspace`, which checks who may do it
(:mod:`simulator.workspace.access`); the page asks the same rules (:func:`refusal`) only to hide
the controls the server would refuse. The server's messages are shown as they are.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from hazards import tables as data
from hazards.errors import ForbiddenError, MadadError
from simulator.app import text
from simulator.app.settings import load_settings
from simulator.app.state import T
from simulator.workspace import Actor, PlanStatus, VersionStatus, Workspace
from simulator.workspace.access import refusal
from simulator.workspace.demo import DEMO_MEMBERS, DEMO_PASSWORD, demo_folder, open_demo
from simulator.workspace.models import ACTION_STATUSES

log = logging.getLogger("madad.app")

#: Session state: the signed-in member's username (never a password).
USER = "committee_user"
#: Session state: the member signed in through the identity provider (sign-out logs out there).
VIA_OIDC = "committee_via_oidc"
#: Session state: a message to show after an action's rerun.
FLASH = "committee_flash"
#: Review kinds a member may choose (approving is signing).
REVIEW_KINDS = ("comment", "request_changes")
#: Figures compared per province and per district (:mod:`simulator.workspace.diff`).
DIFF_FIGURES = ("affected_households", "eligible_households", "paid_households", "amount_pkr",
                "federal_pkr", "provincial_pkr")
#: Background of an overdue row in the action tracker.
OVERDUE_CSS = "background-color: #f8d7da; color: #58151c"


# --- words and numbers ----------------------------------------------------------------------------


def plain(value: Any) -> str:
    """Free text written by a member, shown as typed in markdown (no formatting, no links)."""
    escaped = re.sub(r"([\\`*_{}\[\]()#+\-.!|$<>~:])", r"\\\1", str(value or ""))
    return escaped.replace("\n", "  \n")


def when(stamp: Any) -> str:
    """``2026-05-01T09:30:00Z`` as ``2026-05-01 09:30 UTC``."""
    s = str(stamp or "")
    if s.endswith("Z") and "T" in s:
        return s[:16].replace("T", " ") + " UTC"
    return s


def listed(items) -> str:
    """Items joined with the language's comma."""
    return T("cm_sep").join(str(i) for i in items)


def labelled(prefix: str, value) -> str:
    """The label ``prefix + value`` (spaces as underscores) in the page's language, or the
    value itself when no label has that name."""
    key = prefix + str(value).replace(" ", "_")
    return T(key) if key in text.LABELS["en"] else str(value)


def jurisdiction_text(code: str) -> str:
    return labelled("fin_payer_", code)


def role_text(role: str) -> str:
    return labelled("cm_role_", role)


def state_text(state: str) -> str:
    return labelled("cm_state_", state)


def status_text(status: str) -> str:
    return labelled("cm_status_", status)


def kind_text(kind: str) -> str:
    return labelled("cm_kind_", kind)


def figure_text(name: str) -> str:
    return labelled("f_", name)


def figure(name: str, value: Any) -> str:
    """A figure of a plan: money as ``PKR 1,234``, counts as ``1,234``."""
    if value is None:
        return text.HIDDEN
    return text.fmt_pkr(int(value)) if str(name).endswith("_pkr") else text.fmt_count(int(value))


def change(name: str, value: int) -> str:
    """A signed difference: ``+PKR 1,234``, ``-56``, ``0``."""
    return text.fmt_delta(int(value), str(name).endswith("_pkr")) or "0"


def shown_value(value: Any) -> str:
    """A policy field's value as text (``–`` when the version does not have it)."""
    if value is None:
        return text.HIDDEN
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@st.cache_data(show_spinner=False)
def district_names() -> dict[str, str]:
    table = data.districts()
    return dict(zip(table.district_id, table.district, strict=True))


# --- the workspace and the session ----------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def cached_workspace(url: str | None, folder: str | None, runs: str | None = None) -> Workspace:
    """The workspace of ``url`` (run folders submitted from ``runs`` only), else the demo
    workspace in ``folder`` (seeded on first use)."""
    if url:
        return Workspace(url, runs_root=runs)
    return open_demo(folder)


def open_workspace() -> tuple[Workspace, Path | None]:
    """The workspace and, for the demo, its folder (None for a real workspace)."""
    cfg = load_settings()
    if cfg.database_url:
        runs = str(Path(cfg.workspace_runs or "runs").resolve())
        return cached_workspace(cfg.database_url, None, runs), None
    folder = demo_folder()
    with st.spinner(T("cm_opening_demo")):
        return cached_workspace(None, str(folder)), folder


def flash(message: str) -> None:
    """Show ``message`` after the rerun that follows an action."""
    st.session_state[FLASH] = message
    st.rerun()


def seen(key: str, current: Any) -> Any:
    """What the page showed in its previous run (what the member acted on), remembering
    ``current`` for the next one; a form's optimistic check compares against it."""
    ss = st.session_state
    before = ss.get(key, current)
    ss[key] = current
    return before


def allowed(actor: Actor, action: str, **context: Any) -> bool:
    """Whether the server's rules would let ``actor`` do ``action`` (to hide what they refuse)."""
    return refusal(actor, action, **context) is None


def perform(done: Any, what, *args: Any, **kwargs: Any) -> None:
    """Run a workspace action, then rerun with ``done`` shown (a text, or a function of the
    action's result); a refusal, a conflict or an unusable file is shown instead."""
    try:
        result = what(*args, **kwargs)
    except MadadError as exc:
        log.info("committee action refused: %s", exc)
        st.error(T("cm_failed", problem=str(exc)))
        return
    flash(done(result) if callable(done) else done)


# --- sign-in --------------------------------------------------------------------------------------


def auth_section() -> Any:
    """The ``[auth]`` section of secrets.toml, or None (no secrets file, no section)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return None
        return st.secrets.get("auth") or None
    except Exception:  # an unreadable secrets file is no identity provider
        return None


def oidc_providers() -> list[str | None]:
    """The identity providers ``st.login`` may use (None: the ``[auth]`` section's own)."""
    auth = auth_section()
    if auth is None:
        return []
    providers: list[str | None] = [None] if "client_id" in auth else []
    providers += [name for name, v in auth.items() if hasattr(v, "keys") and "client_id" in v]
    return providers


def oidc_user() -> str | None:
    """The e-mail the identity provider reported, when someone is logged in through it."""
    if auth_section() is None:
        return None
    try:
        user = st.user.to_dict()
    except Exception:
        return None
    if not user.get("is_logged_in") or user.get("email_verified") is False:
        return None
    return str(user.get("email") or "") or None


def signed_in(ws: Workspace) -> str | None:
    """The signed-in member's username: the session's, or the identity provider's e-mail
    mapped to a member."""
    ss = st.session_state
    if ss.get(USER):
        return ss[USER]
    email = oidc_user()
    if email is None:
        return None
    try:
        actor = ws.actor_for_email(email)
    except ForbiddenError as exc:
        st.error(T("cm_oidc_refused", problem=str(exc)))
        if st.button(T("cm_oidc_logout"), key="cm_oidc_logout"):
            st.logout()
        return None
    ss[USER], ss[VIA_OIDC] = actor.username, True
    return actor.username


def sign_in_form(ws: Workspace) -> None:
    """The identity provider's button (when configured) and the local account's form."""
    providers = oidc_providers()
    if providers and importlib.util.find_spec("authlib") is None:
        st.warning(T("cm_oidc_needs_authlib"))
        providers = []
    for i, provider in enumerate(providers):
        label = T("cm_sign_in_oidc") if provider is None else T("cm_sign_in_oidc_named",
                                                                 provider=provider)
        if st.button(label, key=f"cm_oidc_{i}", type="primary"):
            st.login(provider)
    st.subheader(T("cm_sign_in_local"))
    with st.form("cm_login", clear_on_submit=True):
        username = st.text_input(T("cm_username"), key="cm_login_username", autocomplete="username")
        password = st.text_input(T("cm_password"), type="password", autocomplete="current-password")
        submitted = st.form_submit_button(T("cm_sign_in"), key="cm_login_submit")
    if submitted:
        try:
            actor = ws.login(username.strip(), password)
        except MadadError as exc:
            st.error(T("cm_login_refused", problem=str(exc)))
            return
        st.session_state[USER] = actor.username
        flash(T("cm_welcome", name=actor.name))


def sign_out() -> None:
    ss = st.session_state
    ss.pop(USER, None)
    if ss.pop(VIA_OIDC, False) or oidc_user() is not None:  # else it signs them in again
        st.logout()
    st.rerun()


def demo_banner(ws: Workspace, folder: Path, signed: bool) -> None:
    """That this is a demo workspace, its accounts and their shared password."""
    lines = [T("cm_demo_banner", password=DEMO_PASSWORD, folder=str(folder))]
    if not signed:
        names = {o["code"]: o["name"] for o in ws.organisations()}
        lines.append(T("cm_demo_accounts"))
        lines += [f"- `{user}`: {names.get(org, org)}, {role_text(role)}"
                  for user, _name, org, role, _view in DEMO_MEMBERS]
    st.info("\n".join(lines), icon=":material/science:")


# --- plans ----------------------------------------------------------------------------------------


def totals_line(totals: dict) -> str:
    return " · ".join(f"{figure_text(k)}: **{figure(k, totals.get(k))}**"
                      for k in ("paid_households", "amount_pkr", "federal_pkr", "provincial_pkr"))


def signatures_table(v: VersionStatus) -> pd.DataFrame:
    rows = [{T("cm_col_jurisdiction"): jurisdiction_text(j),
             T("cm_col_organisation"): s["organisation"], T("cm_col_member"): s["member"],
             T("cm_col_time"): when(s["signed_at"]), T("cm_col_key"): s["key_id"],
             T("cm_col_valid"): T("cm_valid") if s["valid"] else T("cm_not_valid")}
            for j, s in v.signatures.items()]
    return pd.DataFrame(rows)


def show_version(code: str, v: VersionStatus) -> None:
    st.markdown(T("cm_submitted", user=v.submitted_by, at=when(v.submitted_at),
                  scenario=plain(v.scenario)))
    if v.note:
        st.markdown(f"{T('cm_note')}: {plain(v.note)}")
    st.markdown(T("cm_required", who=listed(jurisdiction_text(j) for j in v.required)))
    st.markdown(totals_line(v.totals))
    if v.signatures:
        st.dataframe(signatures_table(v), hide_index=True, key=f"cm_sigs_{code}_{v.number}")
    else:
        st.caption(T("cm_no_signatures"))
    if v.missing:
        who = listed(jurisdiction_text(j) for j in v.missing)
        st.markdown(":orange[" + T("cm_missing", who=who) + "]")
    else:
        st.markdown(":green[" + T("cm_all_signed") + "]")
    if v.reviews:
        st.markdown(f"**{T('cm_reviews')}**")
        st.markdown("\n".join(
            f"- {when(r['at'])}, `{r['member']}` ({r['organisation']}), {kind_text(r['kind'])}"
            + (f": {plain(r['text'])}" if r["text"] else "") for r in v.reviews))
    else:
        st.caption(T("cm_no_reviews"))


def review_form(ws: Workspace, user: str, actor: Actor, code: str, v: VersionStatus) -> None:
    kinds = [k for k in REVIEW_KINDS if allowed(actor, f"plan.{k}")]
    if not kinds:
        return
    with st.form(f"cm_review_{code}", clear_on_submit=True):
        st.markdown(f"**{T('cm_review_title', n=v.number)}**")
        kind = st.radio(T("cm_review_kind"), kinds, format_func=kind_text, horizontal=True,
                        key=f"cm_review_kind_{code}")
        words = st.text_area(T("cm_review_text"), key=f"cm_review_text_{code}")
        sent = st.form_submit_button(T("cm_review_send"), key=f"cm_review_send_{code}")
    if sent:
        perform(T("cm_review_done", kind=kind_text(kind), plan=code, n=v.number),
                ws.review, user, code, v.number, kind, words.strip())


def write_key(folder: Path, name: str, content: bytes) -> Path:
    """An uploaded private key written readable by this process only (``load_private``
    refuses a key file others may read)."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    return path


def approve_with_upload(ws: Workspace, user: str, code: str, number: int, upload, passphrase: str,
                        words: str, done: str) -> None:
    """Sign with an uploaded ``.key.pem``: written to a private temporary folder for the
    signature and deleted with it."""
    with tempfile.TemporaryDirectory(prefix="madad-key-") as tmp:
        os.chmod(tmp, 0o700)
        try:
            path = write_key(Path(tmp), "uploaded.key.pem", upload.getvalue())
        except OSError as exc:
            st.error(T("cm_failed", problem=str(exc)))
            return
        try:
            ws.approve(user, code, number, path, passphrase=passphrase or None, text=words)
        except MadadError as exc:
            st.error(T("cm_failed", problem=str(exc)))
            return
    flash(done)


def approve_controls(ws: Workspace, user: str, actor: Actor, code: str, v: VersionStatus,
                     demo: Path | None) -> None:
    """"Approve and sign" for the member's jurisdiction, when the version needs it and it has
    not signed yet."""
    j = actor.signs_for
    if not j or j in v.signatures:
        return
    if not allowed(actor, "plan.approve", jurisdiction=j, required=v.required):
        return
    where = jurisdiction_text(j)
    done = T("cm_signed_done", jurisdiction=where, plan=code, n=v.number)
    st.markdown(f"**{T('cm_approve_title', jurisdiction=where, n=v.number)}**")
    st.caption(T("cm_approve_help", org=actor.organisation))
    with st.form(f"cm_approve_{code}", clear_on_submit=True):
        # no key: the private key never sits in st.session_state (cleared once submitted)
        upload = st.file_uploader(T("cm_key_file", org=actor.organisation), type=["pem"])
        passphrase = st.text_input(T("cm_passphrase"), type="password", autocomplete="off")
        words = st.text_input(T("cm_approve_text"), key=f"cm_approve_text_{code}")
        sent = st.form_submit_button(T("cm_approve_sign", jurisdiction=where), type="primary",
                                     key=f"cm_approve_send_{code}")
    if sent:
        if upload is None:
            st.error(T("cm_key_missing", org=actor.organisation))
        else:
            approve_with_upload(ws, user, code, v.number, upload, passphrase, words.strip(), done)
    if demo is not None:
        key = demo / "keys" / f"{actor.organisation}.key.pem"
        if key.is_file() and st.button(T("cm_sign_demo_key"), key=f"cm_demo_sign_{code}"):
            perform(done, ws.approve, user, code, v.number, key)


def households_control(ws: Workspace, user: str, actor: Actor, code: str, v: VersionStatus) -> None:
    """A planner's own households in a version: counts by district and the table as CSV."""
    if not allowed(actor, "plan.households"):
        return
    if not st.button(T("cm_households"), key=f"cm_households_{code}"):
        return
    try:
        table = ws.household_list(user, code, v.number)
    except MadadError as exc:
        st.error(T("cm_failed", problem=str(exc)))
        return
    st.markdown(T("cm_households_count", n=text.fmt_count(len(table)),
                  org=actor.organisation, number=v.number))
    if len(table):
        names = district_names()
        by = (table.groupby(table["district_id"].astype(str), observed=True)
              .agg(households=("household_id", "size"), amount=("amount_pkr", "sum"))
              .reset_index().sort_values("households", ascending=False))
        shown = pd.DataFrame({
            T("col_district_id"): by["district_id"],
            T("col_district"): [names.get(d, d) for d in by["district_id"]],
            T("col_households"): [text.fmt_count(n) for n in by["households"]],
            T("f_amount_pkr"): [text.fmt_pkr(n) for n in by["amount"]],
        })
        st.dataframe(shown, hide_index=True, key=f"cm_households_by_district_{code}")
    name = f"{code}-v{v.number}-{actor.organisation}-households.csv"
    st.download_button(T("dl_button", name=name), data=table.to_csv(index=False).encode("utf-8"),
                       file_name=name, mime="text/csv", key=f"cm_households_csv_{code}",
                       on_click="ignore")


def submit_version(ws: Workspace, user: str, actor: Actor, p: PlanStatus) -> None:
    """A new version of the plan from a run folder on the server (``madad run --out``)."""
    if not allowed(actor, "plan.submit"):
        return
    latest = p.latest.number if p.latest else 0
    expected = seen(f"cm_seen_latest_{p.code}", latest)
    with st.expander(T("cm_submit_title")):
        with st.form(f"cm_submit_{p.code}", clear_on_submit=True):
            folder = st.text_input(T("cm_run_folder"), help=T("cm_run_folder_help"),
                                   key=f"cm_submit_folder_{p.code}")
            note = st.text_area(T("cm_submit_note"), key=f"cm_submit_note_{p.code}")
            sent = st.form_submit_button(T("cm_submit_send"), key=f"cm_submit_send_{p.code}")
    if sent:
        if not folder.strip():
            st.error(T("cm_run_folder_missing"))
            return
        perform(lambda n: T("cm_submit_done", plan=p.code, n=n), ws.submit, user,
                folder.strip(), plan=p.code, note=note.strip(), expected_latest=expected)


def submit_plan(ws: Workspace, user: str, actor: Actor) -> None:
    """A new plan from a run folder on the server."""
    if not allowed(actor, "plan.submit"):
        return
    with st.expander(T("cm_new_plan_title")):
        with st.form("cm_new_plan", clear_on_submit=True):
            code = st.text_input(T("cm_plan_code"), help=T("cm_plan_code_help"), key="cm_new_code")
            title = st.text_input(T("cm_plan_title"), key="cm_new_title")
            folder = st.text_input(T("cm_run_folder"), help=T("cm_run_folder_help"),
                                   key="cm_new_folder")
            note = st.text_area(T("cm_submit_note"), key="cm_new_note")
            sent = st.form_submit_button(T("cm_submit_send"), key="cm_new_send")
    if sent:
        if not folder.strip():
            st.error(T("cm_run_folder_missing"))
            return
        perform(lambda n: T("cm_submit_done", plan=code.strip(), n=n), ws.submit, user,
                folder.strip(), plan=code.strip(), title=title.strip() or None, note=note.strip(),
                expected_latest=0)


def plans_tab(ws: Workspace, user: str, actor: Actor, demo: Path | None) -> None:
    plans = ws.status(user)
    if not plans:
        st.info(T("cm_no_plans"))
    for p in plans:
        st.subheader(p.title)
        colour = {"jointly approved": "green", "changes requested": "red"}.get(p.state, "orange")
        st.markdown(T("cm_plan_line", code=p.code, versions=len(p.versions))
                    + f" · **:{colour}[{state_text(p.state)}]**")
        for v in reversed(p.versions):
            newest = v is p.latest
            label = T("cm_version", n=v.number, at=when(v.submitted_at),
                      state=T("cm_state_jointly_approved") if v.jointly_approved
                      else T("cm_missing_short", n=len(v.missing)))
            with st.expander(label, expanded=newest):
                show_version(p.code, v)
                if newest:
                    approve_controls(ws, user, actor, p.code, v, demo)
                    review_form(ws, user, actor, p.code, v)
                    households_control(ws, user, actor, p.code, v)
        submit_version(ws, user, actor, p)
        st.divider()
    submit_plan(ws, user, actor)


# --- compare versions -----------------------------------------------------------------------------


def figures_table(rows: list[dict], key: str, label: str, a: int, b: int) -> pd.DataFrame:
    """Provinces or districts that changed: each figure that changed somewhere, in both
    versions, and its change."""
    changed = [f for f in DIFF_FIGURES if any(r[f"{f}_change"] for r in rows)] or DIFF_FIGURES
    out = []
    for r in rows:
        row = {T("cm_col_code"): r[key], T("cm_col_name"): r.get(label) or r[key]}
        for f in changed:
            row[T("cm_col_in", what=figure_text(f), n=a)] = figure(f, r[f"{f}_a"])
            row[T("cm_col_in", what=figure_text(f), n=b)] = figure(f, r[f"{f}_b"])
            row[T("cm_col_change", what=figure_text(f))] = change(f, r[f"{f}_change"])
        out.append(row)
    return pd.DataFrame(out)


def compare_tab(ws: Workspace, user: str) -> None:
    plans = [p for p in ws.status(user) if len(p.versions) >= 2]
    if not plans:
        st.info(T("cm_compare_none"))
        return
    by_code = {p.code: p for p in plans}
    code = st.selectbox(T("cm_compare_plan"), list(by_code), key="cm_compare_plan",
                        format_func=lambda c: f"{by_code[c].title} ({c})")
    numbers = [v.number for v in by_code[code].versions]

    def version(n: int) -> str:
        return T("cm_version_n", n=n)

    c = st.columns(2)
    a = c[0].selectbox(T("cm_compare_a"), numbers, index=len(numbers) - 2,
                       key=f"cm_compare_a_{code}", format_func=version)
    b = c[1].selectbox(T("cm_compare_b"), numbers, index=len(numbers) - 1,
                       key=f"cm_compare_b_{code}", format_func=version)
    if a == b:
        st.info(T("cm_compare_same"))
        return
    try:
        diff = ws.diff(user, code, a, b)
    except MadadError as exc:
        st.error(T("cm_failed", problem=str(exc)))
        return
    if not any(diff[k] for k in ("policy", "totals", "provinces", "districts")):
        st.info(T("cm_diff_none", a=a, b=b))
        return
    st.subheader(T("cm_diff_policy"))
    if diff["policy"]:
        st.dataframe(pd.DataFrame([{T("cm_col_field"): r["field"],
                                    T("cm_version_n", n=a): shown_value(r["a"]),
                                    T("cm_version_n", n=b): shown_value(r["b"])}
                                   for r in diff["policy"]]), hide_index=True, key="cm_diff_policy")
    else:
        st.caption(T("cm_diff_policy_same"))
    st.subheader(T("cm_diff_totals"))
    if diff["totals"]:
        st.dataframe(pd.DataFrame([{T("cm_col_figure"): figure_text(r["figure"]),
                                    T("cm_version_n", n=a): figure(r["figure"], r["a"]),
                                    T("cm_version_n", n=b): figure(r["figure"], r["b"]),
                                    T("cm_col_change_only"): change(r["figure"], r["change"])}
                                   for r in diff["totals"]]), hide_index=True, key="cm_diff_totals")
    else:
        st.caption(T("cm_diff_totals_same"))
    for part, key, label in (("provinces", "province_code", "province"),
                             ("districts", "district_id", "district")):
        st.subheader(T(f"cm_diff_{part}"))
        if diff[part]:
            st.dataframe(figures_table(diff[part], key, label, a, b), hide_index=True,
                         key=f"cm_diff_{part}")
        else:
            st.caption(T(f"cm_diff_{part}_same"))


# --- meetings -------------------------------------------------------------------------------------


def meeting_name(m: dict) -> str:
    return f"{m['held_on'].isoformat()} · {m['title']}"


def meetings_tab(ws: Workspace, user: str, actor: Actor) -> None:
    meetings = ws.meetings(user)
    if not meetings:
        st.info(T("cm_no_meetings"))
    for m in meetings:
        st.markdown(f"#### {m['held_on'].isoformat()} · {plain(m['title'])}")
        if m["agenda"]:
            st.markdown(f"**{T('cm_agenda')}**  \n{plain(m['agenda'])}")
        st.markdown(f"**{T('cm_minutes')}**  \n"
                    + (plain(m["minutes"]) if m["minutes"] else T("cm_no_minutes")))
        if m["actions"]:
            st.caption(T("cm_meeting_actions", ids=listed(f"#{i}" for i in m["actions"])))
    if allowed(actor, "meeting.create"):
        with st.expander(T("cm_meeting_new")):
            with st.form("cm_meeting_form", clear_on_submit=True):
                held = st.date_input(T("cm_meeting_date"), value=dt.date.today(),
                                     key="cm_meeting_date")
                title = st.text_input(T("cm_meeting_title"), key="cm_meeting_title")
                agenda = st.text_area(T("cm_agenda"), key="cm_meeting_agenda")
                sent = st.form_submit_button(T("cm_meeting_send"), key="cm_meeting_send")
        if sent:
            if not title.strip():
                st.error(T("cm_title_missing"))
            else:
                perform(T("cm_meeting_done", title=title.strip()), ws.meeting, user, held,
                        title.strip(), agenda.strip())
    if meetings and allowed(actor, "meeting.minutes"):
        with st.expander(T("cm_minutes_edit")):
            by_id = {m["id"]: m for m in meetings}
            pick = st.selectbox(T("cm_minutes_meeting"), list(by_id), key="cm_minutes_pick",
                                format_func=lambda i: meeting_name(by_id[i]))
            m = by_id[pick]
            expected = seen(f"cm_seen_minutes_{pick}", m["revision"])
            with st.form("cm_minutes_form"):
                minutes = st.text_area(T("cm_minutes"), value=m["minutes"], height=200,
                                       key=f"cm_minutes_text_{pick}_{m['revision']}")
                sent = st.form_submit_button(T("cm_minutes_send"), key="cm_minutes_send")
        if sent:
            perform(T("cm_minutes_done", title=m["title"]), ws.record_minutes, user, pick, minutes,
                    expected_revision=expected)


# --- action tracker -------------------------------------------------------------------------------


def actions_table(actions) -> pd.DataFrame:
    return pd.DataFrame([{
        "#": a.id,
        T("cm_col_action"): a.title,
        T("cm_col_owner"): a.owner,
        T("cm_col_due"): a.due_on.isoformat(),
        T("col_status"): status_text(a.status),
        T("cm_col_overdue"): T("cm_overdue_days", n=a.days_overdue) if a.overdue else "",
        T("cm_col_meeting"): a.meeting or "",
    } for a in actions])


def highlight(frame: pd.DataFrame, overdue: list[bool]):
    """The tracker with its overdue rows highlighted."""
    return frame.style.apply(lambda row: [OVERDUE_CSS if overdue[row.name] else ""] * len(row),
                             axis=1)


def actions_tab(ws: Workspace, user: str, actor: Actor) -> None:
    actions = ws.actions(user)
    late = [a for a in actions if a.overdue]
    c = st.columns(3)
    c[0].metric(T("cm_metric_overdue"), text.fmt_count(len(late)))
    c[1].metric(T("cm_metric_open"), text.fmt_count(sum(a.status in ("open", "in_progress")
                                                        for a in actions)))
    c[2].metric(T("cm_metric_all"), text.fmt_count(len(actions)))
    if not actions:
        st.info(T("cm_no_actions"))
    else:
        frame = actions_table(actions)
        st.dataframe(highlight(frame, [a.overdue for a in actions]), hide_index=True,
                     key="cm_actions_table")
        if late:
            st.caption(T("cm_overdue_note"))
    mine = [a for a in actions if allowed(actor, "action.update", owner=a.owner)]
    if mine:
        with st.expander(T("cm_update_title")):
            by_id = {a.id: a for a in mine}
            pick = st.selectbox(T("cm_update_pick"), list(by_id), key="cm_update_pick",
                                format_func=lambda i: f"#{i} {by_id[i].title}")
            a = by_id[pick]
            expected = seen(f"cm_seen_action_{pick}", a.revision)
            st.caption(T("cm_history") + ": " + listed(
                f"{when(h['at'])} `{h['member']}` {status_text(h['status'])}"
                + (f" ({plain(h['note'])})" if h["note"] else "") for h in a.history))
            with st.form("cm_update_form", clear_on_submit=True):
                status = st.selectbox(T("col_status"), ACTION_STATUSES, format_func=status_text,
                                      index=ACTION_STATUSES.index(a.status),
                                      key=f"cm_update_status_{pick}_{a.revision}")
                note = st.text_input(T("cm_update_note"), key="cm_update_note")
                sent = st.form_submit_button(T("cm_update_send"), key="cm_update_send")
            if sent:
                perform(T("cm_update_done", id=pick, status=status_text(status)), ws.update_action,
                        user, pick, status, note.strip(), expected_revision=expected)
    if allowed(actor, "action.add"):
        orgs = {o["code"]: o["name"] for o in ws.organisations()}
        meetings = {m["id"]: m for m in ws.meetings(user)}
        with st.expander(T("cm_add_title")):
            with st.form("cm_add_form", clear_on_submit=True):
                title = st.text_input(T("cm_col_action"), key="cm_add_title")
                owner = st.selectbox(T("cm_col_owner"), list(orgs), key="cm_add_owner",
                                     format_func=lambda c: f"{orgs[c]} ({c})")
                due = st.date_input(T("cm_col_due"), value=dt.date.today() + dt.timedelta(days=14),
                                    key="cm_add_due")
                meeting = st.selectbox(T("cm_col_meeting"), [None, *meetings], key="cm_add_meeting",
                                       format_func=lambda i: T("cm_no_meeting") if i is None
                                       else meeting_name(meetings[i]))
                sent = st.form_submit_button(T("cm_add_send"), key="cm_add_send")
            if sent:
                if not title.strip():
                    st.error(T("cm_title_missing"))
                else:
                    perform(lambda i: T("cm_add_done", id=i, owner=owner), ws.add_action, user,
                            title.strip(), owner, due, meeting_id=meeting)


# --- the page -------------------------------------------------------------------------------------


def render() -> None:
    st.title(T("page_committee"))
    st.caption(T("cm_intro"))
    ss = st.session_state
    if ss.get(FLASH):
        message = ss.pop(FLASH)
        st.success(message)
        st.toast(message)
    try:
        ws, demo = open_workspace()
    except MadadError as exc:
        log.warning("committee workspace not opened: %s", exc)
        st.error(T("cm_open_failed", problem=str(exc)))
        return
    user = signed_in(ws)
    if demo is not None:
        demo_banner(ws, demo, user is not None)
    if user is None:
        if demo is None and ws.is_empty():
            st.info(T("cm_empty_workspace"))
        sign_in_form(ws)
        return
    try:
        actor = ws.actor(user)
    except ForbiddenError as exc:  # removed or deactivated meanwhile
        ss.pop(USER, None)
        st.error(T("cm_failed", problem=str(exc)))
        sign_in_form(ws)
        return
    c = st.columns([4, 1])
    c[0].markdown(T("cm_signed_in_as", name=plain(actor.name), user=actor.username,
                    org=actor.organisation, role=role_text(actor.role)))
    if c[1].button(T("cm_sign_out"), key="cm_sign_out"):
        sign_out()
    plans, compare, meetings, tracker = st.tabs([T("cm_tab_plans"), T("cm_tab_compare"),
                                                 T("cm_tab_meetings"), T("cm_tab_actions")])
    try:
        with plans:
            plans_tab(ws, user, actor, demo)
        with compare:
            compare_tab(ws, user)
        with meetings:
            meetings_tab(ws, user, actor)
        with tracker:
            actions_tab(ws, user, actor)
    except MadadError as exc:  # a read refused or the database gone: the member reads why
        log.warning("committee page: %s", exc)
        st.error(T("cm_failed", problem=str(exc)))


if __name__ == "__main__":  # st.navigation runs this file as the page
    render()
