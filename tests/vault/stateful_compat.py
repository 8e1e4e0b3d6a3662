"""brownie's state machine runner, loaded from its Python source.

brownie 1.22 ships `brownie.test.stateful` compiled with mypyc, and the compiled
`_BrownieStateMachine.__init__` rejects the very subclass its own `state_machine` generates
(`TypeError: brownie.test.stateful._BrownieStateMachine object expected; got ...BrownieStateMachine`),
so every stateful test fails before its first step. The wheel also carries the module's source,
which works: load that under another name and use its `state_machine`, unchanged.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import brownie.test.stateful as _compiled

_SOURCE = Path(_compiled.__file__).with_name("stateful.py")
_spec = importlib.util.spec_from_file_location("hv_brownie_stateful_py", _SOURCE)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

state_machine = _module.state_machine
