"""The botbuilder Storage over the RecordStore: dialog state round trips, eTags, deletes, missing keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botbuilder.core import ConversationState, MemoryStorage, StoreItem, TurnContext, UserState
from botbuilder.core.adapters import TestAdapter
from botbuilder.dialogs import DialogSet, DialogTurnStatus, TextPrompt, WaterfallDialog, WaterfallStepContext
from botbuilder.dialogs.prompts import PromptOptions
from botbuilder.schema import Activity, ActivityTypes

from dialogs.state_storage import RecordStoreStorage, StateConflictError
from store import MemoryStore, RecordStore, TinyStore


@pytest.fixture(params=["memory", "tiny"])
def record_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    """Run every test over both record store backends."""
    store: RecordStore = MemoryStore() if request.param == "memory" else TinyStore(tmp_path / "data")
    yield store
    store.close()


class Note(StoreItem):
    """A StoreItem like botbuilder's own tests use."""


async def test_missing_keys_are_left_out(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    assert await storage.read(["nope"]) == {}
    assert await storage.read([]) == {}


async def test_dict_round_trip_gets_an_e_tag(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    await storage.write({"k": {"count": 1, "nested": {"a": [1, 2]}}})
    found = await storage.read(["k", "other"])
    assert set(found) == {"k"}
    assert found["k"]["count"] == 1 and found["k"]["nested"] == {"a": [1, 2]}
    assert found["k"]["e_tag"]


async def test_store_item_round_trip(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    await storage.write({"note": Note(text="hello", count=3)})
    found = (await storage.read(["note"]))["note"]
    assert isinstance(found, Note) and found.text == "hello" and found.count == 3 and found.e_tag


async def test_stale_e_tag_conflicts_and_star_or_missing_does_not(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    await storage.write({"k": {"v": 1}})
    first = (await storage.read(["k"]))["k"]
    second = (await storage.read(["k"]))["k"]
    first["v"] = 2
    await storage.write({"k": first})  # current e_tag: accepted
    second["v"] = 3
    with pytest.raises(StateConflictError) as caught:
        await storage.write({"k": second})  # stale e_tag: refused
    assert isinstance(caught.value, KeyError)  # as MemoryStorage raises
    assert (await storage.read(["k"]))["k"]["v"] == 2
    await storage.write({"k": {"v": 4, "e_tag": "*"}})
    await storage.write({"k": {"v": 5}})
    assert (await storage.read(["k"]))["k"]["v"] == 5
    with pytest.raises(ValueError):
        await storage.write({"k": {"v": 6, "e_tag": ""}})


async def test_saving_twice_with_the_same_object_is_not_a_conflict(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    await storage.write({"k": {"v": 1}})
    value = (await storage.read(["k"]))["k"]
    value["v"] = 2
    await storage.write({"k": value})
    value["v"] = 3
    await storage.write({"k": value})
    assert (await storage.read(["k"]))["k"]["v"] == 3


async def test_delete(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    await storage.write({"a": {"v": 1}, "b": {"v": 2}})
    await storage.delete(["a", "never-there"])
    assert set(await storage.read(["a", "b"])) == {"b"}


async def test_values_are_copies(record_store: RecordStore) -> None:
    storage = RecordStoreStorage(record_store)
    value = {"items": [1]}
    await storage.write({"k": value})
    value["items"].append(2)
    found = (await storage.read(["k"]))["k"]
    found["items"].append(3)
    assert (await storage.read(["k"]))["k"]["items"] == [1]


async def _run_dialog_turns(storage: object, texts: list[str]) -> list[str]:
    """Drive a two-step waterfall through a real adapter and return the bot's replies."""
    conversation_state = ConversationState(storage)  # type: ignore[arg-type]
    user_state = UserState(storage)  # type: ignore[arg-type]
    dialog_state = conversation_state.create_property("DialogState")
    name_property = user_state.create_property("Name")
    dialogs = DialogSet(dialog_state)
    dialogs.add(TextPrompt("text"))

    async def ask_name(step: WaterfallStepContext):
        return await step.prompt("text", PromptOptions(prompt=Activity(type=ActivityTypes.message, text="Name?")))

    async def ask_school(step: WaterfallStepContext):
        await name_property.set(step.context, step.result)
        return await step.prompt("text", PromptOptions(prompt=Activity(type=ActivityTypes.message, text="School?")))

    async def finish(step: WaterfallStepContext):
        name = await name_property.get(step.context)
        await step.context.send_activity(f"Thanks {name} from {step.result}")
        return await step.end_dialog()

    dialogs.add(WaterfallDialog("main", [ask_name, ask_school, finish]))

    async def logic(context: TurnContext) -> None:
        dialog_context = await dialogs.create_context(context)
        result = await dialog_context.continue_dialog()
        if result.status == DialogTurnStatus.Empty:
            await dialog_context.begin_dialog("main")
        await conversation_state.save_changes(context)
        await user_state.save_changes(context)

    adapter = TestAdapter(logic)
    replies: list[str] = []
    for text in texts:
        await adapter.receive_activity(text)
        while adapter.activity_buffer:
            replies.append(adapter.activity_buffer.pop(0).text)
    return replies


async def test_dialog_state_survives_a_restart(tmp_path: Path) -> None:
    """A dialog started before a restart carries on after it, from a reopened TinyStore."""
    data = tmp_path / "data"
    with TinyStore(data) as store:
        assert await _run_dialog_turns(RecordStoreStorage(store), ["hi", "Ada"]) == ["Name?", "School?"]
        stored = store.all("bot_state")
        assert stored and any("DialogState" in str(doc["value"]) for doc in stored)
    with TinyStore(data) as store:
        # A fresh adapter and fresh state objects: only the store remembers where the dialog was.
        assert await _run_dialog_turns(RecordStoreStorage(store), ["Villiers"]) == ["Thanks Ada from Villiers"]


async def test_behaves_like_memory_storage_on_a_dialog() -> None:
    """The same conversation gives the same replies over MemoryStorage and over ours."""
    texts = ["hi", "Ada", "Villiers", "again"]
    expected = await _run_dialog_turns(MemoryStorage(), texts)
    assert await _run_dialog_turns(RecordStoreStorage(MemoryStore()), texts) == expected
