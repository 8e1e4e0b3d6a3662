"""A workaround for brownie 1.22 in these tests; nothing here changes what a test checks.

`state_machine`, loaded from source. brownie ships `brownie.test.stateful` compiled with mypyc, and
the compiled `_BrownieStateMachine.__init__` rejects the very subclass its own `state_machine`
generates (`TypeError: brownie.test.stateful._BrownieStateMachine object expected; got
...BrownieStateMachine`), so every stateful test fails before its first step. The wheel also
carries the module's source, which works: load that under another name.

(brownie's spurious "Tx dropped without known replacement" is handled for the whole session in
tests/brownie_patience.py.)
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
