"""The real app in a real headless Chromium, with the model served by a scripted
OpenAI-compatible server on 127.0.0.1 (streaming SSE)."""

from __future__ import annotations

import io
import os
import shutil
import time
import wave
from pathlib import Path

import pytest

# One retry for the real-browser tests only: a whole Chromium on a 2-core machine
# shared with other work can miss a timing once; a real regression fails twice.
pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=1, reruns_delay=2)]

CHAT = "#agent-chat"
STEP_TITLE = CHAT + " .thought-group .title"
SPINNER = STEP_TITLE + " .loading-spinner"  # a pending step
ROOT = Path(__file__).resolve().parents[2]


def send(page, text: str) -> None:
    page.fill("#task-input textarea", text)
    page.press("#task-input textarea", "Enter")


def chat_text(page) -> str:
    return page.inner_text(CHAT)


def chat_source(page) -> str:
    """Every message's Markdown, collapsed step messages included (their aria-labels)."""
    return "\n".join(page.eval_on_selector_all(
        f"{CHAT} [data-testid=bot], {CHAT} [data-testid=user]",
        "els => els.map(e => e.getAttribute('aria-label') || '')"))


def wait_text(page, text: str, timeout_ms: int = 20_000) -> None:
    page.wait_for_selector(f"{CHAT} :text({text!r})", timeout=timeout_ms)


def wait_idle(page, timeout_ms: int = 20_000) -> None:
    """The run is over: the textbox is usable again and Stop is disabled."""
    page.wait_for_selector("#task-input textarea:not([disabled])", timeout=timeout_ms)
    page.wait_for_selector("#stop-btn[disabled], #stop-btn button[disabled]",
                           timeout=timeout_ms)


def test_steps_stream_before_the_final_answer(app, new_page, tmp_path):
    page = new_page(app.url)
    page.click("#examples :text('What is the 30th Fibonacci number?')")
    page.wait_for_function("() => document.querySelector('#task-input textarea').value"
                           " === 'What is the 30th Fibonacci number?'", timeout=5_000)
    page.press("#task-input textarea", "Enter")

    # The model's text arrives token by token: several partial lengths are seen.
    lengths, busy_seen = set(), False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        texts = page.eval_on_selector_all(
            f"{CHAT} [data-testid=bot]", "els => els.map(e => e.innerText)")
        thought = next((t for t in texts if t.startswith("Thought: I will compute")), None)
        if thought:
            lengths.add(len(thought))
        step1 = page.locator(f"{STEP_TITLE}:has-text('Step 1')")
        if step1.count():
            pending = step1.locator(".loading-spinner").count() > 0
            busy_seen |= pending
            if not pending:
                break
        time.sleep(0.03)
    assert len(lengths) >= 2, f"no token streaming seen: {lengths}"
    assert busy_seen, "Step 1 was never shown as pending"

    # Step 1 is done (with its duration) while the final answer is not there yet.
    step1 = page.locator(f"{STEP_TITLE}:has-text('Step 1')")
    assert "s)" in step1.inner_text()
    assert "Final answer" not in chat_text(page)
    wait_text(page, "Final answer")
    wait_idle(page)
    text = chat_text(page)
    assert "832040" in text.split("Final answer")[1]
    assert text.index("Step 1") < text.index("Step 2") < text.index("Final answer")
    # The step's code is inside the collapsible step message.
    page.locator(f"{STEP_TITLE}:has-text('Step 1')").click()
    page.wait_for_selector(f"{CHAT} code:has-text('range(30)')")


def test_image_answer_renders_as_img_and_screenshot(app, new_page, tmp_path):
    page = new_page(app.url)
    page.set_viewport_size({"width": 1400, "height": 1250})
    send(page, "Draw a bar chart of the first 8 squares.")
    page.wait_for_selector(f"{CHAT} [data-testid=bot] img", timeout=20_000)
    wait_idle(page)
    src = page.get_attribute(f"{CHAT} [data-testid=bot] img", "src")
    assert src and ("/file=" in src or src.startswith("http"))
    # The image is really served: the browser loaded it with its real size.
    width = page.eval_on_selector(f"{CHAT} [data-testid=bot] img", "img => img.naturalWidth")
    assert width == 360
    page.locator(f"{STEP_TITLE}:has-text('Step 1')").click()
    page.wait_for_selector(f"{CHAT} code:has-text('range(1, 9)')")
    time.sleep(0.8)  # the accordion's opening animation
    page.evaluate("() => { document.querySelector('#agent-chat [role=log]').scrollTop = 0; }")
    time.sleep(0.5)
    assert page.locator(f"{CHAT} code:has-text('range(1, 9)')").is_visible()
    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("AGENT_UPDATE_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "screenshot.png")


def test_audio_answer_renders_an_audio_player(app, new_page):
    page = new_page(app.url)
    send(page, "Please play a tone for me.")
    page.wait_for_selector(f"{CHAT} audio", state="attached", timeout=20_000)
    wait_idle(page)
    assert page.eval_on_selector(f"{CHAT} audio", "a => a.currentSrc || a.src")
    # The WAV the agent made is served to the browser: half a second of audio.
    href = page.get_attribute(f"{CHAT} a[data-testid=download-link][href$='.wav']", "href")
    body = page.request.get(href).body()
    with wave.open(io.BytesIO(body)) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - 0.5) < 0.01


def test_uploads_reach_the_agent_and_limits_are_explained(app, model_server, new_page,
                                                          tmp_path):
    from PIL import Image

    image_path, csv_path, big_path = tmp_path / "cat.png", tmp_path / "data.csv", \
        tmp_path / "big.txt"
    Image.new("RGB", (32, 24), "orange").save(image_path)
    csv_path.write_text("x,y\n1,2\n3,4\n")
    big_path.write_text("x" * 120_000)  # over the test policy's 0.05 MB
    page = new_page(app.url)
    page.set_input_files("#task-input input[type=file]",
                         [str(image_path), str(csv_path), str(big_path)])
    page.wait_for_selector("#task-input img", timeout=10_000)  # the upload is done
    send(page, "Please describe the upload.")
    wait_text(page, "I received your files")
    wait_idle(page)
    text = chat_text(page)
    assert "big.txt" in text and "0.05 MB limit" in text
    # The user's own image shows in the chat.
    assert page.locator(f"{CHAT} [data-testid=user] img").count() >= 1
    request = next(r for r in reversed(model_server.requests)
                   if "describe the upload" in str(r["messages"]))
    user = next(m for m in request["messages"] if "describe the upload" in str(m["content"]))
    parts = user["content"] if isinstance(user["content"], list) else [user["content"]]
    task_text = " ".join(p["text"] if isinstance(p, dict) and "text" in p else str(p)
                         for p in parts)
    assert "cat.png" in task_text and "data.csv" in task_text and "big.txt" not in task_text
    assert any(isinstance(p, dict) and p.get("type") == "image_url" for p in parts), \
        "the uploaded image was not given to the model as an image"
    session = next(s for s in app.sessions._sessions.values() if s.runs and any(
        "describe the upload" in str(m.get("content")) for m in s.chat))
    assert sorted(p.name for p in session.upload_dir.iterdir()) == ["cat.png", "data.csv"]


def test_stop_ends_a_long_run_quickly(app, new_page):
    page = new_page(app.url)
    send(page, "Please count slowly to 400.")
    page.wait_for_selector("#stop-btn:not([disabled])")
    page.wait_for_selector(f"{CHAT} :text('Thought: I will count')")
    started = time.monotonic()
    page.click("#stop-btn")
    wait_text(page, "Stopped", timeout_ms=5_000)
    wait_idle(page, timeout_ms=5_000)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"Stop took {elapsed:.2f} s"
    assert page.locator(SPINNER).count() == 0  # no frozen spinner


def test_follow_ups_continue_and_new_conversation_clears_memory(app, model_server, new_page):
    page = new_page(app.url)
    send(page, "Please remember the number.")
    wait_text(page, "remembered")
    wait_idle(page)
    send(page, "Now recall the number.")  # a follow-up: same memory and variables
    wait_text(page, "4321")
    wait_idle(page)
    page.click("#new-btn")
    page.wait_for_function(
        "() => !document.querySelector('#agent-chat').innerText.includes('remember')")
    send(page, "Now recall the number.")
    wait_text(page, "I do not know the number")
    wait_idle(page)
    text = chat_source(page)
    assert "secret_number" in text and "4321" not in text  # NameError in the code
    last = [r for r in model_server.requests if "recall the number" in str(r["messages"])][-1]
    assert "remember the number" not in str(last["messages"]), "old memory reached the model"


def test_two_visitors_never_see_each_other(app, new_page):
    alice, bob = new_page(app.url), new_page(app.url)
    send(alice, "isolation-store the secret")
    wait_text(alice, "stored")
    wait_idle(alice)
    send(bob, "isolation-peek at the secret")
    wait_text(bob, "nothing to see here")
    wait_idle(bob)
    bob_text, alice_text = chat_source(bob), chat_source(alice)
    assert "isolation-store" not in bob_text and "ALPHA-7731" not in bob_text.split(
        "Final answer")[-1]
    assert "isolation_secret" in bob_text  # Bob's code failed: the variable is not his
    assert "isolation-peek" not in alice_text
    # The Runs tab lists only one's own runs.
    bob.click("button[role=tab]:has-text('Runs')")
    bob.wait_for_function(
        "() => document.querySelector('#runs-table').innerText.includes('isolation-peek')")
    assert "isolation-store" not in bob.inner_text("#runs-table")
    # Reloading gives a new, empty session; closing releases the old one.
    before = len(app.sessions)
    alice.context.close()
    deadline = time.monotonic() + 10
    while len(app.sessions) >= before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(app.sessions) < before, "the session of a closed browser was not released"


def test_model_errors_are_readable_messages(app, new_page):
    page = new_page(app.url)
    send(page, "Use the wrong key please.")
    wait_text(page, "The run stopped on an error")
    wait_idle(page)
    text = chat_text(page)
    assert "API key" in text and "Traceback" not in text


def test_sandbox_reads_uploads_and_stop_kills_running_code(sandbox_app, new_page, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("sandbox sees this line")
    page = new_page(sandbox_app.url)
    page.set_input_files("#task-input input[type=file]", [str(note)])
    page.wait_for_selector("#task-input [aria-label='File thumbnail']", timeout=10_000)
    send(page, "Please read the uploaded file.")
    wait_text(page, "Final answer")
    wait_idle(page)
    assert "sandbox sees this line" in chat_text(page).split("Final answer")[1]

    send(page, "Now loop forever.")
    page.wait_for_selector(f"{CHAT} code:has-text('10 ** 13')", state="attached")
    session = next(s for s in sandbox_app.sessions._sessions.values() if s.runs >= 2)
    worker = session.agent._executor._proc
    time.sleep(0.5)  # the code is running in the worker now
    started = time.monotonic()
    page.click("#stop-btn")
    wait_text(page, "Stopped", timeout_ms=5_000)
    assert time.monotonic() - started < 2.0
    wait_idle(page)
    deadline = time.monotonic() + 3
    while session.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session.busy, "the run thread did not end after Stop"
    deadline = time.monotonic() + 3
    while worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.poll() is not None, "the sandbox worker running the code was not killed"
    send(page, "Please go on: after the stop.")
    wait_text(page, "still alive")
    # Leaving releases the worker and the files.
    folder = session.folder
    page.context.close()
    deadline = time.monotonic() + 10
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not folder.exists()
    assert session.agent._executor is None or not session.agent._executor._alive()
