"""``madad workspace ...``: the Coordination Committee's record from the command line.

Registered on the main app with ``app.add_typer(workspace_app, name="workspace")``. Every command
goes through :class:`simulator.workspace.Workspace`, which checks the member's rights on the
server side; this module only parses and prints.

Who acts: ``--as USER`` (or ``$MADAD_USER``), signed in with the local account's password from
``$MADAD_PASSWORD`` or asked for. Which database: ``--database URL`` (or ``$MADAD_DATABASE_URL``;
default the embedded SQLite file).

Exit codes: 0 success; 2 bad input or a conflict (someone changed the record meanwhile); 4 the
member may not do this.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import typer

from hazards.errors import ForbiddenError, MadadError
from simulator.cli.common import command_group, fail

EXIT_FORBIDDEN = 4

workspace_app = command_group(
    "The Coordination Committee's workspace: joint plans versioned, reviewed and signed by each "
    "government; meetings and action points (SQLite by default, PostgreSQL by "
    "MADAD_DATABASE_URL).\n\n"
    "Example: madad workspace demo\n\n"
    "Example: madad workspace --as bisp submit runs/flood --plan flood-2026 --note 'first draft'\n\n"
    "Example: madad workspace --as sspa-sindh sign flood-2026 --key keys/sspa-sindh.key.pem"
)
meeting_app = command_group("Committee meetings: record one, its minutes, list them.")
action_app = command_group("Action points: add, update, list (overdue ones highlighted).")
member_app = command_group("Members of the Committee.")
workspace_app.add_typer(meeting_app, name="meeting")
workspace_app.add_typer(action_app, name="action")
workspace_app.add_typer(member_app, name="member")


class _Options:
    database: str | None = None
    user: str | None = None


_opts = _Options()


@workspace_app.callback()
def _options(
    database: str | None = typer.Option(
        None, "--database", envvar="MADAD_DATABASE_URL",
        help="Database URL: sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB "
        "(default: $MADAD_DATABASE_URL, else ~/.local/share/madad/workspace.db).",
    ),
    user: str | None = typer.Option(
        None, "--as", envvar="MADAD_USER",
        help="The member acting (default $MADAD_USER); the password comes from $MADAD_PASSWORD "
        "or is asked for.",
    ),
) -> None:
    _opts.database, _opts.user = database, user


def _open(url: str | None = None):  # noqa: ANN202
    from simulator.workspace import Workspace

    try:
        return Workspace(url or _opts.database)
    except MadadError as exc:
        fail(exc)


def _signed_in(ws) -> str:  # noqa: ANN001
    if not _opts.user:
        fail("say who acts: `madad workspace --as USER ...` (or set MADAD_USER).")
    password = os.environ.get("MADAD_PASSWORD")
    if password is None:
        password = typer.prompt(f"password of {_opts.user}", hide_input=True)
    try:
        return ws.login(_opts.user, password).username
    except ForbiddenError as exc:
        fail(exc, EXIT_FORBIDDEN)


def _call(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    try:
        return fn(*args, **kwargs)
    except ForbiddenError as exc:
        fail(exc, EXIT_FORBIDDEN)
    except MadadError as exc:
        fail(exc)


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"{what} {text!r}: give a date as YYYY-MM-DD.")


@workspace_app.command()
def init(
    chair: str = typer.Option(..., "--chair", help="Username of the Committee's chair (the first member)."),
    organisation: str = typer.Option(..., "--organisation", help="The chair's organisation code, e.g. mopass."),
    name: str = typer.Option("", "--name", help="The chair's full name."),
    email: str | None = typer.Option(None, "--email", help="The chair's e-mail at the identity provider (st.login)."),
    organisations: Path | None = typer.Option(
        None, "--organisations", help="CSV of the organisations (default data/committee/organisations.csv)."),
) -> None:
    """Set up an empty workspace: its organisations and its chair.

    The chair's password comes from $MADAD_PASSWORD or is asked for.

    Example: madad workspace init --chair chair --organisation mopass --name 'Committee chair'
    """
    from simulator.workspace.demo import read_organisations

    password = os.environ.get("MADAD_PASSWORD") or typer.prompt(
        f"password for {chair} (10 characters or more)", hide_input=True, confirmation_prompt=True)
    ws = _open()
    orgs = _call(read_organisations, organisations)
    _call(ws.bootstrap, orgs, {"username": chair, "name": name or chair, "organisation": organisation,
                               "email": email, "password": password})
    typer.echo(f"workspace {ws.url}: {len(orgs)} organisations, chair {chair} ({organisation}).")


@workspace_app.command()
def demo(
    folder: Path | None = typer.Option(None, "--folder", help="Where (default $MADAD_DEMO_WORKSPACE or ~/.local/share/madad/demo-workspace)."),
) -> None:
    """Make (or open) the demonstration workspace, with the demo plan submitted.

    Organisations, a member each, their keys, and the demo plan as version 1; prints its
    database URL and accounts.
    """
    from simulator.workspace.demo import DEMO_MEMBERS, DEMO_PASSWORD, demo_folder, open_demo

    where = folder or demo_folder()
    from rich.console import Console

    with Console(stderr=True).status("running the demo plan for the demo workspace..."):
        ws = _call(open_demo, where)
    typer.echo(f"demo workspace: {ws.url}\nkeys: {where / 'keys'}\n"
               f"accounts (password {DEMO_PASSWORD!r}, for the demo only):")
    for username, _name, org, role, view in DEMO_MEMBERS:
        typer.echo(f"  {username:<18} {org:<18} {role:<12} {view}")
    typer.echo(f"try: MADAD_DATABASE_URL={ws.url} MADAD_PASSWORD={DEMO_PASSWORD} "
               "madad workspace --as sspa-sindh status")


@member_app.command("add")
def member_add(
    username: str = typer.Argument(..., help="Lower-case username."),
    organisation: str = typer.Option(..., "--organisation", help="Organisation code."),
    role: str = typer.Option("member", "--role", help="chair, secretariat, member or observer."),
    view: str = typer.Option("planner", "--view", help="planner, authority or minister."),
    name: str = typer.Option("", "--name", help="Full name."),
    email: str | None = typer.Option(None, "--email", help="E-mail at the identity provider."),
    local: bool = typer.Option(True, "--local/--oidc-only", help="Give a local password (asked for)."),
) -> None:
    """Add a member (chair or secretariat)."""
    ws = _open()
    me = _signed_in(ws)
    password = (typer.prompt(f"password for {username}", hide_input=True, confirmation_prompt=True)
                if local else None)
    _call(ws.add_member, me, {"username": username, "organisation": organisation, "role": role,
                              "view": view, "name": name or username, "email": email,
                              "password": password})
    typer.echo(f"added {username} ({organisation}, {role}, {view}).")


@member_app.command("update")
def member_update(
    username: str = typer.Argument(..., help="The member to change."),
    email: str | None = typer.Option(None, "--email", help="E-mail at the identity provider (st.login)."),
    role: str | None = typer.Option(None, "--role", help="chair, secretariat, member or observer."),
    view: str | None = typer.Option(None, "--view", help="planner, authority or minister."),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Keep or end the membership (never deleted)."),
    password: bool = typer.Option(False, "--password", help="Set a new local password (asked for)."),
) -> None:
    """Change a member's e-mail, role, view, password or membership (chair or secretariat)."""
    ws = _open()
    me = _signed_in(ws)
    secret = (typer.prompt(f"new password for {username}", hide_input=True,
                           confirmation_prompt=True) if password else None)
    _call(ws.update_member, me, username, email=email, role=role, view=view, active=active,
          password=secret)
    typer.echo(f"updated {username}.")


@member_app.command("list")
def member_list() -> None:
    """List members and organisations."""
    ws = _open()
    for m in ws.members():
        typer.echo(f"{m['username']:<20} {m['organisation']:<18} {m['role']:<12} {m['view']:<10}"
                   f"{'' if m['active'] else ' (inactive)'}")


@workspace_app.command()
def key(
    organisation: str = typer.Argument(..., help="Organisation code."),
    identity: Path = typer.Argument(..., help="Its public <org>.identity.json (madad exchange keygen)."),
) -> None:
    """Register an organisation's public signing key; its approvals are checked against it."""
    ws = _open()
    key_id = _call(ws.register_key, _signed_in(ws), organisation, identity)
    typer.echo(f"{organisation}: key id {key_id} registered. Confirm it with {organisation} "
               "by phone or letter.")


@workspace_app.command()
def submit(
    run_folder: Path = typer.Argument(..., help="Run folder written by `madad run`."),
    plan: str = typer.Option(..., "--plan", help="The plan's code; a new code starts a new plan."),
    title: str | None = typer.Option(None, "--title", help="A new plan's title (default: the scenario's)."),
    note: str = typer.Option("", "--note", help="What changed in this version."),
    expected: int | None = typer.Option(None, "--expected", help="The version you last saw; refused if another was submitted meanwhile."),
) -> None:
    """Submit a run folder as a new plan or its next version (its manifest is checked)."""
    ws = _open()
    number = _call(ws.submit, _signed_in(ws), run_folder, plan=plan, title=title, note=note,
                   expected_latest=expected)
    [st] = ws.status(_opts.user, plan)
    typer.echo(f"{plan} version {number} submitted; it needs signatures from "
               f"{', '.join(st.latest.required)}.")


@workspace_app.command()
def review(
    plan: str = typer.Argument(..., help="Plan code."),
    version: int | None = typer.Option(None, "--version", help="Version (default the newest)."),
    comment: str | None = typer.Option(None, "--comment", help="A comment."),
    request_changes: str | None = typer.Option(None, "--request-changes", help="Changes you ask for."),
) -> None:
    """Comment on a version or request changes (approving is `sign`)."""
    if (comment is None) == (request_changes is None):
        fail("give exactly one of --comment TEXT or --request-changes TEXT.")
    ws = _open()
    kind, text = ("comment", comment) if comment is not None else ("request_changes", request_changes)
    _call(ws.review, _signed_in(ws), plan, version, kind, text)
    typer.echo(f"{kind.replace('_', ' ')} recorded on {plan}.")


@workspace_app.command()
def sign(
    plan: str = typer.Argument(..., help="Plan code."),
    key_file: Path = typer.Option(..., "--key", help="Your organisation's <org>.key.pem (madad exchange keygen)."),
    version: int | None = typer.Option(None, "--version", help="Version (default the newest)."),
    text: str = typer.Option("", "--text", help="A note with the approval."),
) -> None:
    """Approve a version for your organisation's jurisdiction, signed with its Ed25519 key.

    The key's passphrase comes from $MADAD_KEY_PASSPHRASE or is asked for when it has one.
    """
    from simulator.exchange.keys import is_passphrase_protected

    ws = _open()
    me = _signed_in(ws)
    passphrase = None
    if is_passphrase_protected(key_file):
        passphrase = os.environ.get("MADAD_KEY_PASSPHRASE") or typer.prompt(
            f"passphrase of {key_file}", hide_input=True)
    approval = _call(ws.approve, me, plan, version, key_file, passphrase=passphrase, text=text)
    body = approval.payload
    [st] = ws.status(me, plan)
    v = next(x for x in st.versions if x.number == body["version"])
    typer.echo(f"{body['organisation']} signed {plan} version {body['version']} for "
               f"{body['jurisdiction']} (key id {body['key_id']}).")
    typer.echo("jointly approved: every required signatory has signed." if v.jointly_approved
               else f"still to sign: {', '.join(v.missing)}.")


@workspace_app.command()
def status(
    plan: str | None = typer.Argument(None, help="One plan (default all)."),
    version: int | None = typer.Option(None, "--version", help="With --signatures: the version (default newest)."),
    signatures: Path | None = typer.Option(None, "--signatures", help="Write the version's signature file (checkable with `madad workspace verify`)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Plans, their versions, who signed and what is missing."""
    ws = _open()
    me = _signed_in(ws)
    plans = _call(ws.status, me, plan)
    if signatures is not None:
        if plan is None:
            fail("--signatures needs a PLAN.")
        signatures.write_text(json.dumps(_call(ws.signatures, me, plan, version), indent=2) + "\n")
        typer.echo(f"wrote {signatures}")
    if as_json:
        typer.echo(json.dumps([_plan_json(p) for p in plans], indent=2, default=str))
        return
    for p in plans:
        typer.echo(f"{p.code}: {p.title} [{p.state}]")
        for v in reversed(p.versions):
            signed = ", ".join(f"{j} ({s['organisation']}{'' if s['valid'] else ', NOT VALID'})"
                               for j, s in sorted(v.signatures.items())) or "none"
            typer.echo(f"  v{v.number} {v.submitted_at} by {v.submitted_by}: paid "
                       f"{int(v.totals.get('paid_households', 0)):,} households, PKR "
                       f"{int(v.totals.get('amount_pkr', 0)):,}")
            typer.echo(f"     signed: {signed}; missing: {', '.join(v.missing) or 'none'}; "
                       f"{len(v.reviews)} reviews ({v.changes_requested} asking for changes)")


def _plan_json(p) -> dict:  # noqa: ANN001
    return {"code": p.code, "title": p.title, "state": p.state, "versions": [
        {"number": v.number, "manifest_sha256": v.manifest_sha256, "submitted_by": v.submitted_by,
         "submitted_at": v.submitted_at, "note": v.note, "required": list(v.required),
         "signatures": v.signatures, "missing": list(v.missing),
         "jointly_approved": v.jointly_approved, "reviews": list(v.reviews), "totals": v.totals}
        for v in p.versions]}


@workspace_app.command()
def diff(
    plan: str = typer.Argument(..., help="Plan code."),
    a: int = typer.Argument(..., help="Older version."),
    b: int = typer.Argument(..., help="Newer version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What changed between two versions: policy, totals, provinces, districts."""
    ws = _open()
    d = _call(ws.diff, _signed_in(ws), plan, a, b)
    if as_json:
        typer.echo(json.dumps(d, indent=2, default=str))
        return
    typer.echo(f"{plan}: v{a} -> v{b}")
    typer.echo("policy:" if d["policy"] else "policy: unchanged")
    for row in d["policy"]:
        typer.echo(f"  {row['field']}: {row['a']} -> {row['b']}")
    for row in d["totals"]:
        typer.echo(f"  {row['figure']}: {row['a']:,} -> {row['b']:,} ({row['change']:+,})")
    typer.echo(f"{len(d['provinces'])} provinces and {len(d['districts'])} districts changed "
               "(--json lists them).")


@workspace_app.command()
def export(
    plan: str | None = typer.Argument(None, help="Plan code (omit with --minutes)."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (.xlsx or .pdf)."),
    fmt: str | None = typer.Option(None, "--format", help="xlsx or pdf (default: from --out)."),
    version: int | None = typer.Option(None, "--version", help="Version (default the newest)."),
    minutes: bool = typer.Option(False, "--minutes", help="Export the meetings' minutes and the action tracker instead."),
) -> None:
    """Export a signed plan (workbook or brief, with its signatures), or the minutes.

    The minutes export holds the meetings and the action tracker, overdue items highlighted.
    """
    kind = (fmt or out.suffix.lstrip(".")).lower()
    ws = _open()
    me = _signed_in(ws)
    if minutes:
        path = _call(ws.export_minutes, me, kind, out)
    else:
        if plan is None:
            fail("give a PLAN, or --minutes.")
        path = _call(ws.export_plan, me, plan, version, kind, out)
    typer.echo(f"wrote {path}")


@workspace_app.command()
def verify(
    signature_file: Path = typer.Argument(..., help="A file from `madad workspace status PLAN --signatures FILE`."),
    run_folder: Path | None = typer.Option(None, "--run", help="The run folder that was signed."),
) -> None:
    """Check a plan's signatures without the database (and that they are over RUN's manifest)."""
    from simulator.workspace.signing import verify_file

    payloads = _call(verify_file, signature_file, run_folder)
    for p in payloads:
        typer.echo(f"valid: {p['jurisdiction']} by {p['organisation']} ({p['member']}, key id "
                   f"{p['key_id']}) on {p['plan']} v{p['version']} at {p['signed_utc']}")
    typer.echo("Compare the key ids with the organisations' out of band.")


@meeting_app.command("add")
def meeting_add(
    held_on: str = typer.Argument(..., help="Date, YYYY-MM-DD."),
    title: str = typer.Argument(..., help="Title."),
    agenda: str = typer.Option("", "--agenda", help="Agenda text."),
) -> None:
    """Record a meeting (chair or secretariat)."""
    ws = _open()
    mid = _call(ws.meeting, _signed_in(ws), _date(held_on, "date"), title, agenda)
    typer.echo(f"meeting {mid} recorded.")


@meeting_app.command("minutes")
def meeting_minutes(
    meeting_id: int = typer.Argument(..., help="Meeting id."),
    text_file: Path = typer.Option(..., "--file", help="Text file of the minutes."),
    expected_revision: int | None = typer.Option(None, "--expected-revision", help="Refuse if someone saved minutes since this revision."),
) -> None:
    """Save a meeting's minutes (chair or secretariat)."""
    ws = _open()
    rev = _call(ws.record_minutes, _signed_in(ws), meeting_id,
                text_file.read_text(encoding="utf-8"), expected_revision=expected_revision)
    typer.echo(f"meeting {meeting_id}: minutes saved (revision {rev}).")


@meeting_app.command("list")
def meeting_list() -> None:
    """List meetings, newest first."""
    ws = _open()
    for m in _call(ws.meetings, _signed_in(ws)):
        typer.echo(f"{m['id']:>3} {m['held_on']} {m['title']} ({len(m['actions'])} action points)")


@action_app.command("add")
def action_add(
    title: str = typer.Argument(..., help="What is to be done."),
    owner: str = typer.Option(..., "--owner", help="Owning organisation code."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
    meeting_id: int | None = typer.Option(None, "--meeting", help="The meeting that decided it."),
) -> None:
    """Add an action point (chair or secretariat)."""
    ws = _open()
    aid = _call(ws.add_action, _signed_in(ws), title, owner, _date(due, "--due"),
                meeting_id=meeting_id)
    typer.echo(f"action point {aid} added.")


@action_app.command("update")
def action_update(
    action_id: int = typer.Argument(..., help="Action point id."),
    new_status: str = typer.Argument(..., help="open, in_progress, done or dropped."),
    note: str = typer.Option("", "--note", help="A note for the history."),
    expected_revision: int | None = typer.Option(None, "--expected-revision", help="Refuse if it changed since this revision."),
) -> None:
    """Update an action point's status (its owner organisation, the chair or the secretariat)."""
    ws = _open()
    rev = _call(ws.update_action, _signed_in(ws), action_id, new_status, note,
                expected_revision=expected_revision)
    typer.echo(f"action point {action_id}: {new_status} (revision {rev}).")


@action_app.command("list")
def action_list(overdue: bool = typer.Option(False, "--overdue", help="Only those past due.")) -> None:
    """The action tracker."""
    ws = _open()
    rows = _call(ws.actions, _signed_in(ws), overdue=overdue)
    late = sum(a.overdue for a in rows)
    typer.echo(f"{len(rows)} action points, {late} overdue")
    for a in rows:
        flag = f"OVERDUE {a.days_overdue} d" if a.overdue else ""
        typer.echo(f"{a.id:>3} {a.due_on} {a.status:<11} {a.owner:<18} {a.title[:40]} {flag}")


@workspace_app.command()
def audit(
    limit: int | None = typer.Option(20, "--limit", help="The last N events (0: all)."),
) -> None:
    """Check the audit trail's hash chain and print its last events (chair or secretariat)."""
    ws = _open()
    events = _call(ws.audit, _signed_in(ws), limit=limit or None)
    n = _call(ws.verify_audit)
    typer.echo(f"audit trail intact: {n} events, hash chain verified.")
    for e in events:
        typer.echo(f"{e['id']:>5} {e['at']} {e['actor']:<14} {e['action']:<22} {e['target'][:30]:<30} "
                   f"{e['outcome']}")


@workspace_app.command()
def backup(out: Path = typer.Argument(..., help="Backup file to write (.jsonl.gz).")) -> None:
    """Back up the whole workspace to one file (chair or secretariat)."""
    ws = _open()
    header = _call(ws.backup, _signed_in(ws), out)
    typer.echo(f"wrote {out}: {sum(header['counts'].values())} rows, schema {header['revision']}.")


@workspace_app.command()
def restore(
    backup_file: Path = typer.Argument(..., help="A file from `madad workspace backup`."),
    into: str | None = typer.Option(None, "--into", help="Empty database URL to restore into (default --database / $MADAD_DATABASE_URL)."),
) -> None:
    """Restore a backup into an empty database (SQLite or PostgreSQL).

    The backup's SHA-256 and the audit chain are checked.
    """
    from simulator.workspace.backup import restore as _restore

    ws = _call(_restore, backup_file, into or _opts.database)
    typer.echo(f"restored into {ws.url}: audit chain of {ws.verify_audit()} events verified.")
