"""forget_earlier_versions: after the next write of a document, none of its earlier versions stays on disk (a link
to an indecent image that was held as evidence before the report's words showed what it was)."""

from __future__ import annotations

from pathlib import Path

from store import MemoryStore, TinyStore, open_store

SECRET = "https://files.example/evidence/IMG_0001.jpg"


def on_disk(data_dir: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in data_dir.rglob("*") if p.is_file())


def test_the_journal_keeps_no_earlier_version_after_the_next_write(tmp_path: Path) -> None:
    store = TinyStore(tmp_path)
    store.put("bot_state", "msteams/conversations/a:1", {"files": [SECRET]})
    store.put("other", "x", {"n": 1})
    store.put("bot_state", "msteams/conversations/a:1", {"files": []})
    assert SECRET in on_disk(tmp_path)  # the journal still has the earlier version
    store.forget_earlier_versions("bot_state", "msteams/conversations/a:1")
    store.put("other", "x", {"n": 2})  # another document's write does not count
    assert SECRET in on_disk(tmp_path)
    store.put("bot_state", "msteams/conversations/a:1", {"files": [], "dropped": 1})
    assert SECRET not in on_disk(tmp_path)
    store.close()
    reopened = open_store(tmp_path)
    state, other = reopened.get("bot_state", "msteams/conversations/a:1"), reopened.get("other", "x")
    assert state is not None and state["dropped"] == 1
    assert other is not None and other["n"] == 2
    reopened.close()


def test_a_delete_also_forgets(tmp_path: Path) -> None:
    store = TinyStore(tmp_path)
    store.put("bot_state", "k", {"files": [SECRET]})
    store.forget_earlier_versions("bot_state", "k")
    store.delete("bot_state", "k")
    assert SECRET not in on_disk(tmp_path)
    store.close()


def test_the_memory_store_accepts_it() -> None:
    store = MemoryStore()
    store.forget_earlier_versions("bot_state", "k")
    store.put("bot_state", "k", {"a": 1})
    state = store.get("bot_state", "k")
    assert state is not None and state["a"] == 1
