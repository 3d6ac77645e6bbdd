"""Publishing a plan: the run folder, Excel, the PDF brief, GeoPackage/GeoJSON, payout lists,
maps, and the disclosure control that every published table passes through.

``simulator.publish.export.export(run, fmt, out)`` writes one format; ``write_run`` a run folder.
Modules, one per thing published: ``runs`` (a run, plan.json, households.parquet), ``tables``
(district table, payout list, the published plan), ``xlsx``, ``pdf`` (the brief) with
``figures`` (its map and chart), ``geo`` (the district layer), ``runfolder``, ``compare`` and
``disclosure`` (small-cell suppression: ``protection``, ``tables``, ``plan``).
"""

from simulator.publish.export import FORMATS, Run, load_run
from simulator.publish.runfolder import RunWriter, write_run

__all__ = ["FORMATS", "Run", "RunWriter", "load_run", "write_run"]
