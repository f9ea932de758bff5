"""``engine explore``: an interactive page over the current model run, with live what-if ratings.

Modules, from pure to IO:

* :mod:`~engine.explore.rows`     -- the controls' values checked, rows filtered, changes marked (pure)
* :mod:`~engine.explore.graph`    -- the explanation graph as Cytoscape.js elements (pure)
* :mod:`~engine.explore.service`  -- the reads (``cypher/recommend`` through a Reader) and the one write
* :mod:`~engine.explore.live`     -- a what-if rating's fold-in refresh (``engine refresh``'s machinery)
* :mod:`~engine.explore.handlers` -- what each control does: values in, a page out (no Dash)
* :mod:`~engine.explore.view`     -- the layout and components (Dash, dash-cytoscape)
* :mod:`~engine.explore.app`      -- the callbacks and the local server (127.0.0.1)

Dash and dash-cytoscape come with the ``explore`` extra (``pip install 'reelgraph[explore]'``).
"""
