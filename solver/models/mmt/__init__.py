"""Models users bring: a Myokit ``.mmt`` file turned into optowave's model description.

:func:`load_mmt` reads the file with Myokit's own parser (the optional extra ``optowave[myokit]``) and returns
the description's JSON form (``ModelDefinition`` in ``protos/optowave/v1/spec.proto``; ``../shared`` schema):

- the membrane potential is the state labelled ``membrane_potential``, else a state named V, v or Vm in a
  component named ``membrane``; a file that declares V in volts or time in seconds is converted to mV and ms
  (``Variable.convert_unit``; a gate's tau and rates are scaled, so it stays a gate);
- the pacing (the variable bound to ``pace``) and the stimulus current (label ``stimulus_current``) are set to
  zero: optowave drives the cell with its own light and current stimuli; the coupling current of Myokit's
  multi-cell simulations (``bind diffusion_current``) is dropped too (optowave couples the cells itself), and
  a model that uses another of Myokit's inputs (``realtime``, ``evaluations``) is refused;
- a state in Hodgkin–Huxley form (``myokit.lib.hh``: ``dot(x) = alpha*(1-x) - beta*x`` or
  ``(x_inf - x)/tau``, with alpha, beta, inf and tau functions of V and constants alone) becomes a ``gate``
  whose expressions are written out in V and parameters; every other state keeps its ``derivative``;
- ``dot(V)`` is split into its terms: a constant factor (``-1/C``) is distributed over a sum, a variable that is
  a sum of such terms (``i_ion = INa + IK``) is opened, and each term that is a named variable becomes a current
  of that name (per channel); what is left becomes one current ``I_ion``. A current is the term's value with
  the sign turned, ``-dV/dt``'s part in mV/ms = A/F, so a division by a capacitance is part of it;
- literal constants become parameters; every other variable the kept expressions use becomes an intermediate,
  in an order where each comes after what it uses.

What cannot be said (a function the expression language lacks, a term that depends on time, no membrane
potential, a syntax error) raises :class:`MmtError`, one line naming the file, the line and the variable.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from ._errors import MmtError
from ._importer import LUMPED_CURRENT, Importer

__all__ = ["LUMPED_CURRENT", "MAX_BYTES", "MmtError", "load_mmt"]

#: The largest .mmt file read (bytes): Myokit's parser holds the whole file, and hostile input is bounded.
MAX_BYTES = 4 * 2**20


def load_mmt(path: str | Path) -> dict:
    """The model description (the schema's JSON form, a dict) of the model in a Myokit ``.mmt`` file.

    Parameters
    ----------
    path : str or Path
        The ``.mmt`` file; its ``[[model]]`` section is read, a ``[[protocol]]`` or ``[[script]]`` is ignored.

    Raises
    ------
    MmtError
        Myokit is not installed, the file does not parse, or the model says something the description cannot.
    """
    myokit = _myokit(path)
    path = Path(path)
    if not path.is_file():
        raise MmtError(path, "no such file")
    if path.stat().st_size > MAX_BYTES:
        raise MmtError(path, f"{path.stat().st_size} bytes; a model file is at most {MAX_BYTES} bytes here (a "
                             "published cell model takes a few hundred kB)")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MmtError(path, f"not a text file (byte {exc.start} is not UTF-8)") from None
    try:   # the text read once: what is parsed is what is hashed
        section = myokit.split(text)[0]
        if not section.strip():
            raise MmtError(path, "no [[model]] section (a protocol or script alone holds no model)")
        model = myokit.parse_model(section)
        description = Importer(myokit, model, path).description()
    except myokit.ParseError as exc:
        raise MmtError(path, f"{exc.name}: {exc.desc}", line=exc.line) from None
    except myokit.IntegrityError as exc:
        token = exc.token()
        raise MmtError(path, str(exc).splitlines()[0], line=token[2] if token else None) from None
    except myokit.MyokitError as exc:
        raise MmtError(path, str(exc).splitlines()[0]) from None
    except RecursionError:   # Myokit's parser and its expression trees recurse once per nesting level
        raise MmtError(path, "an expression nested too deeply (or a sum of too many terms) for Myokit's parser "
                             "and optowave's expression language") from None
    description["source"] = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest()}
    return description


def _myokit(path):
    try:
        import myokit
        import myokit.lib.hh  # noqa: F401  (the gate recognition)
    except ImportError:
        raise MmtError(path, "reading a .mmt file needs Myokit, optowave's optional extra: "
                             "pip install 'optowave[myokit]'") from None
    return myokit
