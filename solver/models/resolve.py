"""The cell model a spec's ``tissue.model`` names: a preset, a ``definition``, or a Myokit ``mmt_path``.

A definition is validated as a :class:`~solver.models.description.ModelDescription` and turned into a
:class:`CellModel` by :mod:`solver.models.codegen`; an ``.mmt`` file (relative to the spec file) is read
by ``solver.models.mmt.load_mmt`` into the same description form, imported only when a spec uses one.
Problems raise :class:`ModelSourceError` whose ``field`` is the path of the spec field to blame.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from . import get_model
from ._base import CellModel

__all__ = ["ModelSourceError", "model_of", "description_dict_of"]


class ModelSourceError(ValueError):
    """A spec's model cannot be had; ``field`` is the spec field path, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _split(message: str, default: str) -> tuple[str, str]:
    # a description's errors start with their field path: "tissue.model.definition.states[0].gate.tau (m.tau): ..."
    head, sep, rest = message.partition(": ")
    if sep and head.startswith(default):
        return head.split(" (")[0], message
    return default, message


def description_dict_of(model_spec, base_dir: str = ".") -> tuple[Mapping, str]:
    """The description's JSON form of a spec's ``definition`` or ``mmt_path``, and its field path."""
    if getattr(model_spec, "definition", ""):
        return json.loads(model_spec.definition), "tissue.model.definition"
    path = os.path.join(base_dir, model_spec.mmt_path)
    field = "tissue.model.mmt_path"
    try:
        from .mmt import load_mmt
    except ImportError:
        raise ModelSourceError(field, f"{model_spec.mmt_path!r}: reading Myokit .mmt files needs solver.models.mmt, "
                               "which this installation does not have; write the model as tissue.model.definition "
                               "instead") from None
    if not os.path.isfile(path):
        raise ModelSourceError(field, f"{model_spec.mmt_path!r}: no such file (relative paths resolve against the "
                               f"spec file's directory, here {os.path.abspath(base_dir)!r})")
    try:
        return load_mmt(path), field
    except ValueError as err:
        raise ModelSourceError(field, f"{model_spec.mmt_path!r}: {err}") from None


def model_of(model_spec, base_dir: str = ".") -> CellModel:
    """The :class:`CellModel` of a spec's ``tissue.model`` (preset, definition or mmt_path).

    Raises
    ------
    ModelSourceError
        An unknown preset, an invalid definition or an unreadable ``.mmt`` file, naming the field.
    """
    if not getattr(model_spec, "definition", "") and not getattr(model_spec, "mmt_path", ""):
        try:
            return get_model(model_spec.preset)
        except ValueError as err:
            raise ModelSourceError("tissue.model.preset", str(err)) from None
    from .codegen import cell_model
    from .description import DescriptionError, ModelDescription

    d, field = description_dict_of(model_spec, base_dir)
    try:
        return cell_model(ModelDescription.from_dict(d, path=field))
    except DescriptionError as err:
        raise ModelSourceError(*_split(str(err), field)) from None
