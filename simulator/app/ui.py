"""Pure helpers of the Streamlit app, in one namespace (the pages use ``ui.<name>``).

Nothing here imports Streamlit: every function takes plain values and returns plain values (or
pydeck layers), so each can be tested alone. They live in:

- :mod:`simulator.app.settings`: the ``MADAD_*`` settings, read once (:func:`load_settings`);
- :mod:`simulator.app.text`: the labels of both languages (:data:`LABELS`, read from
  ``labels/*.json``; :func:`text` looks one up), formats and tables;
- :mod:`simulator.app.style`: hazard colour ramps, legends and the raster image;
- :mod:`simulator.app.layers`: hexagons and the map's pydeck layers;
- :mod:`simulator.app.builder`: the Scenario page's builder and the sidebar what-if.
"""

from __future__ import annotations

from simulator.app.builder import *  # noqa: F403
from simulator.app.layers import *  # noqa: F403
from simulator.app.settings import *  # noqa: F403
from simulator.app.style import *  # noqa: F403
from simulator.app.text import *  # noqa: F403
