"""The examples in the run log's docstrings run as written."""

import doctest

import pytest

from hub_tools import _runlog_chat, runlog


@pytest.mark.parametrize("module", [runlog, _runlog_chat])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
