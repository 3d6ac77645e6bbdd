"""What changed between two versions of a plan: the policy, the totals, provinces and districts.

The policy comes from each version's ``manifest.json`` (the scenario actually used, with its
policy); the figures from each ``plan.json``. Only what differs is listed, so a reviewer sees at
once why a new version needs new signatures.
"""

from __future__ import annotations

from typing import Any

__all__ = ["plan_diff", "flatten"]

#: Scenario fields that describe rather than decide (left out of the policy diff).
_PROSE = ("description", "assumptions", "modelled_on")
#: Figures compared per province and per district.
_FIGURES = ("affected_households", "eligible_households", "paid_households", "amount_pkr",
            "federal_pkr", "provincial_pkr")


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict or list as ``{"a.b[0].c": leaf}``."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k in sorted(value):
            out.update(flatten(value[k], f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            name = v.get("name") if isinstance(v.get("name"), str) else str(i)
            out.update(flatten(v, f"{prefix}[{name}]"))
    else:
        out[prefix] = value
    return out


def _rows(a: list[dict], b: list[dict], key: str, label: str) -> list[dict]:
    ia = {r[key]: r for r in a or []}
    ib = {r[key]: r for r in b or []}
    out = []
    for k in sorted(set(ia) | set(ib)):
        ra, rb = ia.get(k, {}), ib.get(k, {})
        changes = {f: (int(ra.get(f) or 0), int(rb.get(f) or 0)) for f in _FIGURES}
        if any(x != y for x, y in changes.values()):
            row = {key: k, label: rb.get(label) or ra.get(label) or k}
            for f, (x, y) in changes.items():
                row[f"{f}_a"], row[f"{f}_b"], row[f"{f}_change"] = x, y, y - x
            out.append(row)
    return out


def plan_diff(manifest_a: dict, manifest_b: dict, plan_a: dict, plan_b: dict) -> dict:
    """The differences between two versions (see :meth:`Workspace.diff`)."""
    sa = {k: v for k, v in (manifest_a.get("scenario") or {}).items() if k not in _PROSE}
    sb = {k: v for k, v in (manifest_b.get("scenario") or {}).items() if k not in _PROSE}
    fa, fb = flatten(sa), flatten(sb)
    missing = object()
    policy = [{"field": k, "a": fa.get(k), "b": fb.get(k)}
              for k in sorted(set(fa) | set(fb))
              if fa.get(k, missing) != fb.get(k, missing)]
    ta, tb = plan_a.get("totals") or {}, plan_b.get("totals") or {}
    totals = [{"figure": k, "a": int(ta.get(k) or 0), "b": int(tb.get(k) or 0),
               "change": int(tb.get(k) or 0) - int(ta.get(k) or 0)}
              for k in sorted(set(ta) | set(tb)) if ta.get(k) != tb.get(k)]
    return {
        "policy": policy,
        "totals": totals,
        "provinces": _rows(plan_a.get("provinces"), plan_b.get("provinces"), "province_code",
                           "province"),
        "districts": _rows(plan_a.get("districts"), plan_b.get("districts"), "district_id",
                           "district"),
    }
