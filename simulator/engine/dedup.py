"""Each household paid at most once across federal and provincial programmes.

Households are matched on the pseudonymous id: within one registry each id is one row (duplicate
ids are quarantined on load), so entitlements meet on the same row. Within one owner, a household
entitled under several programmes is paid the largest of them. Across owners the scenario's rule
decides (see :class:`simulator.scenario.Dedup`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hazards.errors import ScenarioError


@dataclass
class Resolved:
    federal_delivers_pkr: np.ndarray
    provincial_delivers_pkr: np.ndarray
    overlap: np.ndarray  # entitled under more than one programme
    savings_pkr: np.ndarray  # sum of entitlements minus what is paid

    @property
    def amount_pkr(self) -> np.ndarray:
        return self.federal_delivers_pkr + self.provincial_delivers_pkr


def resolve(
    federal_pkr: np.ndarray,
    provincial_pkr: np.ndarray,
    entitled_sum_pkr: np.ndarray,
    n_entitlements: np.ndarray,
    *,
    rule: str,
    base: str = "federal",
    order: tuple[str, ...] = ("federal", "provincial"),
) -> Resolved:
    """Combine the largest federal and provincial entitlement of each household into one payment.

    Parameters
    ----------
    federal_pkr, provincial_pkr
        Each household's largest entitlement under a federal / provincial programme [PKR].
    entitled_sum_pkr
        Sum of all its entitlements [PKR] (what would be paid without dedup).
    n_entitlements
        Number of programmes it is entitled under.
    rule
        ``top_up`` or ``priority``.
    """
    if rule == "top_up":
        if base == "federal":
            fed = federal_pkr
            prov = np.maximum(provincial_pkr - federal_pkr, 0)
        else:
            prov = provincial_pkr
            fed = np.maximum(federal_pkr - provincial_pkr, 0)
    elif rule == "priority":
        if list(order)[0] == "federal":
            fed = federal_pkr
            prov = np.where(federal_pkr > 0, 0, provincial_pkr)
        else:
            prov = provincial_pkr
            fed = np.where(provincial_pkr > 0, 0, federal_pkr)
    else:
        raise ScenarioError(f"dedup: unknown rule {rule!r}; use top_up or priority in the scenario's dedup.rule.")
    fed = fed.astype(np.int64)
    prov = prov.astype(np.int64)
    return Resolved(fed, prov, n_entitlements > 1, entitled_sum_pkr - fed - prov)
