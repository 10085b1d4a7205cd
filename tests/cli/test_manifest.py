"""Tests for the Teams app package builder, checked against Microsoft's published manifest schema."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator  # type: ignore[import-untyped]  # types-jsonschema is not a dev requirement

from cli.main import main
from cli.manifest import build_package, render_manifest
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "node_modules" / "@microsoft" / "app-manifest" / "build" / "json-schemas" / "teams"
BOT_ID = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
TEAMS_APP_ID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"


def _schema_for(manifest: dict[str, Any]) -> dict[str, Any]:
    """Load the schema for the declared manifest version; skip (fail under CI) if npm install was not run."""
    path = SCHEMAS / f"v{manifest['manifestVersion']}" / "MicrosoftTeams.schema.json"
    if not path.exists():
        message = f"{path} is missing: run `npm ci` at the repo root to get @microsoft/app-manifest"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return json.loads(path.read_text(encoding="utf-8"))


def _png_size(data: bytes) -> tuple[int, int]:
    """Read width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _png_colour_type(data: bytes) -> int:
    """Read the colour type byte from a PNG's IHDR chunk (6 means RGBA)."""
    return data[25]


@pytest.fixture
def package(tmp_path: Path) -> Iterator[zipfile.ZipFile]:
    """A freshly built package with school details filled in."""
    out = build_package(
        BOT_ID,
        tmp_path / "thinkfirst.zip",
        teams_app_id=TEAMS_APP_ID,
        version="1.2.3",
        developer_name="Villiers Primary School",
        website_url="https://www.villiers.example.sch.uk/",
        privacy_url="https://www.villiers.example.sch.uk/privacy",
        terms_url="https://www.villiers.example.sch.uk/terms",
        valid_domains=["thinkfirst.villiers.example.sch.uk"],
    )
    with zipfile.ZipFile(out) as zf:
        yield zf


def test_zip_holds_exactly_the_three_files_at_its_root(package: zipfile.ZipFile) -> None:
    """Teams wants manifest.json and the icons at the top level, not in a folder."""
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_manifest_is_valid_against_microsofts_schema(package: zipfile.ZipFile) -> None:
    """The filled manifest passes the published JSON schema of the version it declares."""
    manifest = json.loads(package.read("manifest.json"))
    schema = _schema_for(manifest)
    errors = sorted(Draft4Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # Draft 4 ignores "const", which is how the schema pins manifestVersion, so check it by hand.
    assert manifest["$schema"].endswith(f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json")
    assert int(manifest["manifestVersion"].split(".")[1]) >= 17


def test_manifest_values_are_filled_in(package: zipfile.ZipFile) -> None:
    """Every placeholder is replaced and the bot is set up as agreed."""
    text = package.read("manifest.json").decode("utf-8")
    assert "{{" not in text
    manifest = json.loads(text)
    assert manifest["id"] == TEAMS_APP_ID
    assert manifest["version"] == "1.2.3"
    assert manifest["name"]["short"] == "ThinkFirst"
    assert manifest["developer"]["name"] == "Villiers Primary School"
    assert manifest["developer"]["privacyUrl"] == "https://www.villiers.example.sch.uk/privacy"
    assert manifest["validDomains"] == ["thinkfirst.villiers.example.sch.uk"]
    (bot,) = manifest["bots"]
    assert bot["botId"] == BOT_ID
    assert set(bot["scopes"]) == {"personal", "team", "groupChat"}
    # Files sent in the personal chat reach the bot (as file.download.info), and the bot can offer leads a PDF
    # through the file consent card: both need supportsFiles.
    assert bot["supportsFiles"] is True
    titles = {scope: {c["title"] for c in cl["commands"]} for cl in bot["commandLists"] for scope in cl["scopes"]}
    assert {"help", "report", "can I", "policy"} <= titles["personal"]
    assert {"setup", "cases", "campaign"} <= titles["team"]
    assert not {"setup", "cases", "campaign"} & titles["personal"]


def test_icons_have_the_sizes_teams_requires(package: zipfile.ZipFile) -> None:
    """color.png is 192x192 and outline.png is 32x32, both RGBA PNGs."""
    color, outline = package.read("color.png"), package.read("outline.png")
    assert _png_size(color) == (192, 192)
    assert _png_size(outline) == (32, 32)
    assert _png_colour_type(outline) == 6, "the outline icon needs an alpha channel for its transparent background"


def test_teams_app_id_defaults_to_the_bot_id() -> None:
    """Without --teams-app-id the app and bot share one id."""
    manifest = render_manifest(BOT_ID.upper())
    assert manifest["id"] == BOT_ID
    assert manifest["bots"][0]["botId"] == BOT_ID


def test_user_text_cannot_break_the_json() -> None:
    """Quotes, backslashes and braces in the developer name arrive as plain text."""
    name = 'St Mary\'s "C of E" \\ {{APP_ID}}'
    manifest = render_manifest(BOT_ID, developer_name=name)
    assert manifest["developer"]["name"] == name


@pytest.mark.parametrize(
    "bad", ["", "not-a-guid", "6f1c2d3e4a5b4c6d8e7f9a0b1c2d3e4f", "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4g"]
)
def test_bad_bot_id_is_refused_with_a_clear_message(bad: str, tmp_path: Path) -> None:
    """A bot id that is not a GUID raises ValueError naming the option, and no zip is written."""
    out = tmp_path / "x.zip"
    with pytest.raises(ValueError, match=r"bot app id \(--app-id\) must be a GUID"):
        build_package(bad, out)
    assert not out.exists()


def test_bad_teams_app_id_is_refused(tmp_path: Path) -> None:
    """The Teams app id is checked too."""
    with pytest.raises(ValueError, match=r"Teams app id \(--teams-app-id\) must be a GUID"):
        build_package(BOT_ID, tmp_path / "x.zip", teams_app_id="1234")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"website_url": "http://www.example.sch.uk/"}, "https"),
        ({"version": "1.0"}, "1.2.3"),
        ({"developer_name": "x" * 33}, "1 to 32"),
        ({"valid_domains": ["https://bot.example.sch.uk"]}, "host name"),
    ],
)
def test_other_bad_values_are_refused(kwargs: dict[str, Any], message: str) -> None:
    """Values Teams would reject on upload are refused here first."""
    with pytest.raises(ValueError, match=message):
        render_manifest(BOT_ID, **kwargs)


def test_run_manifest_writes_the_zip(tmp_path: Path) -> None:
    """The command line entry point builds the package and says where."""
    out = tmp_path / "pkg" / "thinkfirst.zip"
    stdout = io.StringIO()
    code = main(["manifest", "--app-id", BOT_ID, "--out", str(out), "--developer-name", "Villiers Primary School"],
                settings=Settings.from_mapping({}), stdout=stdout)
    assert code == 0
    assert out.exists()
    assert str(out) in stdout.getvalue()


def test_run_manifest_reports_a_bad_guid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad GUID gives a non-zero exit code and a readable message, not a traceback."""
    stdout = io.StringIO()
    code = main(["manifest", "--app-id", "nope", "--out", str(tmp_path / "x.zip")], settings=Settings.from_mapping({}),
                stdout=stdout)
    assert code == 2 and stdout.getvalue() == ""
    assert "must be a GUID" in capsys.readouterr().err
