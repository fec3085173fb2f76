"""SandboxExecutor: functional behaviour, and attacks the OS layers must stop.

Security tests authorize dangerous modules (os, socket, subprocess) on purpose: the
language layer would refuse them anyway, and the point here is that the worker's OS
layers (scrubbed env, Landlock, seccomp, namespaces, rlimits, kill on timeout) stop
the attack on their own. The host process must survive each one.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from agent_core.exceptions import InterpreterError
from agent_core.executors.sandbox import SandboxExecutor

SECRET = "sk-test-SECRETSECRETSECRET1234"
DANGEROUS = ["os", "socket", "subprocess", "numpy", "pandas", "PIL"]


@pytest.fixture(scope="module")
def sandbox():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", SECRET)
        mp.setenv("HF_TOKEN", "hf_" + "x" * 30)
        mp.setenv("HARMLESS_SETTING", "visible-if-allowed")
        ex = SandboxExecutor(DANGEROUS, timeout=3, memory_mb=1024, file_mb=20, disk_mb=50,
                             env_allow=["HARMLESS_SETTING", "OPENAI_API_KEY"])
    tools = {"final_answer": lambda answer: {"wrapped": answer},
             "add": lambda a, b=0: a + b,
             "make_image": _make_image,
             "fail": _failing_tool}
    ex.send_tools(tools)
    yield ex
    ex.close()


def _make_image(size=4):
    from PIL import Image

    return Image.new("RGB", (size, size), "red")


def _failing_tool():
    raise RuntimeError("tool exploded")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(ex):
    assert ex("6 * 7").output == 42


def _require(ex, *layers):
    """Skip when none of ``layers`` is in force here (the worker reports which are)."""
    report = ex.describe()["layers"]
    if not any(report.get(name, {}).get("ok") for name in layers):
        pytest.skip(f"none of the layers {layers} is available on this machine")


# --- functional -----------------------------------------------------------------------


def test_worker_reports_its_layers(sandbox):
    info = sandbox.describe()
    layers = info["layers"]
    assert layers["env_scrubbed"] is True
    assert {"network_namespace", "landlock", "seccomp", "rlimits", "privileges"} <= set(layers)
    assert layers["rlimits"]["as_mb"] == 1024
    assert isinstance(info["missing_layers"], list)
    assert info["worker_start_s"] < 5


def test_state_persists_and_output_and_logs_come_back(sandbox):
    sandbox("def sq(x):\n    return x * x\nvalues = [sq(i) for i in range(4)]")
    out = sandbox("print('values', values)\n{'total': sum(values), 'pair': (1, 2.5)}")
    assert out.output == {"total": 14, "pair": (1, 2.5)}
    assert out.logs == "values [0, 1, 4, 9]\n"


def test_tools_run_in_the_host_through_the_channel(sandbox):
    assert sandbox("add(2, b=3)").output == 5
    out = sandbox("img = make_image(size=3)\n(img.size, img.mode)")
    assert out.output == ((3, 3), "RGB")


def test_tool_errors_reach_the_code(sandbox):
    out = sandbox("try:\n    fail()\nexcept Exception as e:\n    msg = str(e)\nmsg")
    assert "tool exploded" in out.output


def test_final_answer_returns_the_host_processed_value(sandbox):
    out = sandbox("try:\n    final_answer([1, 2])\nexcept BaseException:\n    pass\nprint('no')")
    assert out.is_final_answer and out.output == {"wrapped": [1, 2]}
    assert "no" not in out.logs


def test_images_and_arrays_come_back_as_objects(sandbox):
    from PIL import Image

    out = sandbox("from PIL import Image\nImage.new('L', (5, 2), 7)")
    assert isinstance(out.output, Image.Image) and out.output.size == (5, 2)
    out = sandbox("import numpy as np\nnp.arange(6, dtype='float32').reshape(2, 3)")
    assert out.output.shape == (2, 3) and out.output.dtype.name == "float32"


def test_pandas_groupby_and_library_prints_are_captured(sandbox):
    out = sandbox("import pandas as pd\ndf = pd.DataFrame({'g': ['a', 'b', 'a'], 'v': [1, 2, 3]})\n"
                  "df.info()\ndf.groupby('g')['v'].sum()")
    assert out.output.to_dict() == {"a": 4, "b": 2}
    assert "RangeIndex" in out.logs


def test_send_variables_and_files_in_scratch(sandbox):
    _require(sandbox, "landlock")
    sandbox.send_variables({"numbers": [3, 4], "label": "n"})
    path = os.path.join(sandbox.scratch_dir, "input.txt")
    with open(path, "w") as fh:
        fh.write("from the host")
    out = sandbox("open('input.txt').read() + ' ' + label + str(sum(numbers))")
    assert out.output == "from the host n7"
    sandbox("open('made_by_code.txt', 'w').write('hi')")
    assert open(os.path.join(sandbox.scratch_dir, "made_by_code.txt")).read() == "hi"


def test_language_layer_still_applies(sandbox):
    with pytest.raises(InterpreterError, match="not allowed"):
        sandbox("import random\nrandom._os")
    with pytest.raises(InterpreterError, match="Import of shutil is not allowed"):
        sandbox("import shutil")


def test_warm_call_overhead_is_small(sandbox):
    sandbox("1")
    started = time.perf_counter()
    for _ in range(20):
        sandbox("1")
    assert (time.perf_counter() - started) / 20 < 0.2  # target 20 ms: see bench/


# --- attacks ---------------------------------------------------------------------------


def test_env_secrets_are_not_visible(sandbox):
    out = sandbox("import os\ndict(os.environ)")
    env = out.output
    assert SECRET not in str(env) and "HF_TOKEN" not in env and "OPENAI_API_KEY" not in env
    assert env.get("HARMLESS_SETTING") == "visible-if-allowed"
    with pytest.raises(InterpreterError):
        sandbox(f"open('/proc/{os.getpid()}/environ', 'rb').read()")
    _alive(sandbox)


def test_files_outside_scratch_cannot_be_read(sandbox, tmp_path):
    _require(sandbox, "landlock")
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("top secret")
    os.chmod(tmp_path, 0o755)
    for code in (f"open({str(secret_file)!r}).read()", "open('/etc/passwd').read()",
                 f"import pandas as pd\npd.read_csv({str(secret_file)!r})",
                 f"import os\nos.listdir({str(tmp_path)!r})"):
        with pytest.raises(InterpreterError, match="Permission|denied|not permitted"):
            sandbox(code)
    _alive(sandbox)


def test_files_outside_scratch_cannot_be_written(sandbox, tmp_path):
    _require(sandbox, "landlock")
    os.chmod(tmp_path, 0o777)
    target = tmp_path / "pwned.txt"
    for code in (f"open({str(target)!r}, 'w').write('x')",
                 f"import os\nopen('mine.txt', 'w').write('x')\nos.rename('mine.txt', {str(target)!r})",
                 "import os\nos.symlink('/etc/passwd', 'link')\nopen('link').read()"):
        with pytest.raises(InterpreterError):
            sandbox(code)
    assert not target.exists()
    _alive(sandbox)


def test_no_network_to_a_local_listener(sandbox):
    _require(sandbox, "seccomp", "landlock", "network_namespace")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(2.0)
    port = listener.getsockname()[1]
    accepted = []

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:
            pass
    thread = threading.Thread(target=accept)
    thread.start()
    try:
        with pytest.raises(InterpreterError, match="not permitted|denied|unreachable|refused"):
            sandbox(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)")
    finally:
        thread.join()
        listener.close()
    assert not accepted
    _alive(sandbox)


def test_no_process_can_be_spawned(sandbox, tmp_path):
    _require(sandbox, "seccomp")
    marker = os.path.join(sandbox.scratch_dir, "spawned")
    with pytest.raises(InterpreterError, match="not permitted|denied"):
        sandbox(f"import subprocess\nsubprocess.run(['touch', {marker!r}])")
    with pytest.raises(InterpreterError, match="not permitted"):
        sandbox("import os\nos.fork()")
    out = sandbox(f"import os\nos.system('touch {marker}')")
    assert out.output != 0
    assert not os.path.exists(marker)
    _alive(sandbox)


def test_memory_bomb_fails_in_the_worker_only():
    ex = SandboxExecutor(timeout=5, memory_mb=300)
    try:
        for code in ("x = bytearray(8 * 1024**3)", "x = [0] * (2 * 10**9)",
                     "chunks = []\nwhile True:\n    chunks.append(bytearray(20 * 1024**2))"):
            with pytest.raises(InterpreterError, match="MemoryError"):
                ex(code)
        ex("chunks = None")
        _alive(ex)
    finally:
        ex.close()


def test_output_flood_is_capped(sandbox):
    out = sandbox("for i in range(300000):\n    print('flood', i)")
    assert len(out.logs) < sandbox.max_print_outputs_length + 300
    with pytest.raises(InterpreterError, match="time limit"):
        sandbox("while True:\n    print('x' * 10000)")
    _alive(sandbox)


def test_disk_filling_write_is_stopped(sandbox):
    _require(sandbox, "landlock")  # `open` is given only where Landlock confines it
    with pytest.raises(InterpreterError, match="File too large"):
        sandbox("f = open('big.bin', 'wb')\nf.write(b'0' * (40 * 1024**2))")
    with pytest.raises(InterpreterError, match="scratch directory"):
        sandbox("for i in range(10):\n    open(f'part{i}.bin', 'wb').write(b'0' * (10 * 1024**2))")
    used = sum(e.stat().st_size for e in os.scandir(sandbox.scratch_dir) if e.is_file())
    assert used < 50 * 1024**2
    _alive(sandbox)


def test_infinite_loop_stops_within_the_limit_and_stops_burning_cpu(sandbox):
    sandbox("kept = 'still here'")
    started = time.monotonic()
    with pytest.raises(InterpreterError, match="time limit"):
        sandbox("while True:\n    pass")
    assert time.monotonic() - started < sandbox.timeout + 2.5
    pid = sandbox._proc.pid
    before = _cpu_seconds(pid)
    time.sleep(0.5)
    assert _cpu_seconds(pid) - before < 0.1
    assert sandbox("kept").output == "still here"  # stopped in the worker: state kept


def test_stuck_c_call_kills_and_restarts_the_worker_and_says_state_was_lost():
    ex = SandboxExecutor(timeout=1)
    try:
        ex("kept = 1")
        old_pid = ex._proc.pid
        started = time.monotonic()
        with pytest.raises(InterpreterError, match="lost"):
            ex("sum(range(10**13))")
        assert time.monotonic() - started < 1 + 2 + 1.5
        assert not os.path.exists(f"/proc/{old_pid}") or \
            open(f"/proc/{old_pid}/stat").read().split(")")[1].split()[0] == "Z"
        with pytest.raises(InterpreterError, match="not defined"):
            ex("kept")
        _alive(ex)
    finally:
        ex.close()


def test_interrupt_stops_a_running_step():
    ex = SandboxExecutor(timeout=None)
    try:
        threading.Timer(0.5, ex.interrupt).start()
        started = time.monotonic()
        with pytest.raises(InterpreterError, match="interrupted"):
            ex("while True:\n    pass")
        assert time.monotonic() - started < 2.5
        threading.Timer(0.5, ex.interrupt).start()
        with pytest.raises(InterpreterError, match="interrupted"):
            ex("sum(range(10**13))")  # C call: the kill after the signal does it
        assert time.monotonic() - started < 6
        _alive(ex)
    finally:
        ex.close()


def test_close_kills_the_worker_and_removes_scratch():
    ex = SandboxExecutor()
    pid, scratch = ex._proc.pid, ex.scratch_dir
    assert os.path.isdir(scratch)
    ex.close()
    assert not os.path.isdir(scratch)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_starts_with_fewer_layers_and_reports_them():
    ex = SandboxExecutor(layers=("rlimits", "seccomp"))
    try:
        missing = " ".join(ex.describe()["missing_layers"])
        assert "network namespace" in missing and "Landlock" in missing
        _alive(ex)
        # Without Landlock confining files, the code gets no `open`.
        with pytest.raises(InterpreterError, match="open"):
            ex("open('x.txt', 'w')")
    finally:
        ex.close()


def test_unknown_layer_is_a_developer_error():
    with pytest.raises(ValueError, match="Unknown sandbox layers"):
        SandboxExecutor(layers=("firewall",))


def test_reset_forgets_state(sandbox):
    sandbox("temp_value = 1")
    sandbox.reset()
    with pytest.raises(InterpreterError, match="not defined"):
        sandbox("temp_value")
    assert sandbox("add(1, 2)").output == 3


def test_closed_executor_refuses_work():
    ex = SandboxExecutor()
    ex.close()
    with pytest.raises(RuntimeError, match="closed"):
        ex("1")


def test_tool_images_reach_the_host_as_images_through_the_sandbox():
    from PIL import Image

    from agent_core import AgentImage, CodeAgent, ScriptedModel, tool

    @tool
    def draw(size: int) -> object:  # this module's annotations are strings: no Image
        """Draws a square.

        Args:
            size: side in pixels.
        """
        return AgentImage(Image.new("RGB", (size, size), "green"))

    model = ScriptedModel(["Code:\n```py\nimg = draw(size=6)\nfinal_answer(img)\n```"])
    agent = CodeAgent(tools=[draw], model=model, executor_type="sandbox", verbosity_level=0)
    try:
        answer = agent.run("draw")
    finally:
        agent.close()
    assert isinstance(answer, AgentImage) and answer.to_raw().size == (6, 6)
