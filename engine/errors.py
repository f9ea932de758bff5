"""The one root of every error ReelGraph raises on purpose.

Library code raises subclasses of :class:`ReelGraphError` with a message a person can act
on (what failed, where, and the remedy). The CLI catches them once, at its edge
(:mod:`engine.cli`), prints the message on one line and exits with :attr:`exit_code`:

* ``1`` -- the operation failed (server down, verification failed, ...);
* ``2`` -- the input was wrong (:class:`InputError`: an unknown id, a bad parameter, a file
  that does not parse); nothing was written.

Anything else that reaches the CLI is a bug or an unexpected environment problem; it is
printed on one line too, with the traceback only under ``-vv``.
"""

from __future__ import annotations


class ReelGraphError(Exception):
    """Root of ReelGraph's own errors; ``str(exc)`` is the one-line message."""

    exit_code: int = 1


class InputError(ReelGraphError):
    """The user's input is wrong (ids, parameters, files); nothing was written."""

    exit_code = 2


class ParameterError(InputError, ValueError):
    """A model or training parameter has an unknown name, a wrong type or a value out of range."""
