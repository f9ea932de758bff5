"""Training protocols: selection on validation, the production refit, held-out evaluation, runs.

* :mod:`~engine.training.selection`  -- validation carve (same rule as the test split), grids
* :mod:`~engine.training.protocols`  -- ``fit_production`` (engine train), ``evaluate_holdout``
* :mod:`~engine.training.checkpoint` -- the run directory (model, idmap, config, history)
"""
