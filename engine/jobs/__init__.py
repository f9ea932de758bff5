"""Library entry points of the ``engine`` commands: each wires settings, the driver and the stages.

The CLI (:mod:`engine.cli`) parses options, calls one of these and prints what it returns;
every job can be called the same way from Python. Jobs open the Neo4j driver (once, at
this edge) from :class:`~engine.settings.Neo4jSettings` and report progress through a
``report(line)`` callback (default: the log).

* :mod:`~engine.jobs.load`     -- MovieLens (or synthetic) data into Neo4j, online or bulk
* :mod:`~engine.jobs.train`    -- export -> select on validation -> refit -> checkpoint -> write-back
* :mod:`~engine.jobs.evaluate` -- held-out evaluation beside popularity
* :mod:`~engine.jobs.demo`     -- the main job end to end
"""
