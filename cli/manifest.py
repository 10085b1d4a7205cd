"""Build the Teams app package (manifest.json, color.png, outline.png in a zip) from manifest/manifest.template.json."""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cli.base import USAGE_ERROR, Invocation, Subcommands, add_command, fail

MANIFEST_DIR = Path(__file__).resolve().parent.parent / "manifest"
TEMPLATE = MANIFEST_DIR / "manifest.template.json"
ICONS = ("color.png", "outline.png")

DEFAULT_VERSION = "1.0.0"
DEFAULT_DEVELOPER_NAME = "Your school"
DEFAULT_WEBSITE_URL = "https://www.example.sch.uk/"
DEFAULT_PRIVACY_URL = "https://www.example.sch.uk/privacy"
DEFAULT_TERMS_URL = "https://www.example.sch.uk/terms"

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
VERSION_RE = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
DOMAIN_RE = re.compile(r"^(\*\.)?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+(:[0-9]+)?$")
PLACEHOLDER_RE = re.compile(r"\{\{[A-Z_]+\}\}")
DEVELOPER_NAME_MAX = 32  # the manifest schema's limit


def _check_guid(value: str, what: str) -> str:
    """Return value if it is a GUID, else raise ValueError naming the option."""
    if not isinstance(value, str) or not GUID_RE.match(value.strip()):
        raise ValueError(
            f"{what} must be a GUID like 00000000-0000-0000-0000-000000000000, got {value!r}. "
            "Find the bot's app id on the Azure Bot resource, under Configuration (Microsoft App ID)."
        )
    return value.strip().lower()


def _check_https(value: str, what: str) -> str:
    """Return value if it is an https URL with a host, else raise ValueError."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"{what} must be an https:// address, got {value!r}")
    return value


def _fill(node: Any, values: dict[str, str]) -> Any:
    """Replace {{NAME}} placeholders inside every string of a parsed JSON tree."""
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        # Substitute in one pass so a value that itself contains "{{...}}" is never expanded again.
        return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(0), m.group(0)), node)
    return node


def _template_placeholders(node: Any) -> list[str]:
    """List every {{NAME}} placeholder in the template's strings."""
    if isinstance(node, dict):
        return [p for item in node.values() for p in _template_placeholders(item)]
    if isinstance(node, list):
        return [p for item in node for p in _template_placeholders(item)]
    if isinstance(node, str):
        return PLACEHOLDER_RE.findall(node)
    return []


def render_manifest(
    bot_app_id: str,
    *,
    teams_app_id: str | None = None,
    version: str = DEFAULT_VERSION,
    developer_name: str = DEFAULT_DEVELOPER_NAME,
    website_url: str = DEFAULT_WEBSITE_URL,
    privacy_url: str = DEFAULT_PRIVACY_URL,
    terms_url: str = DEFAULT_TERMS_URL,
    valid_domains: list[str] | None = None,
) -> dict[str, Any]:
    """Validate the inputs and return the filled manifest as a dict."""
    bot_id = _check_guid(bot_app_id, "The bot app id (--app-id)")
    # Teams allows the app id to equal the bot id; using it by default keeps one id to look after.
    app_id = _check_guid(teams_app_id, "The Teams app id (--teams-app-id)") if teams_app_id else bot_id
    if not VERSION_RE.match(version):
        raise ValueError(f"The version must look like 1.2.3 (three whole numbers), got {version!r}")
    developer_name = developer_name.strip()
    if not developer_name or len(developer_name) > DEVELOPER_NAME_MAX:
        raise ValueError(f"The developer name must be 1 to {DEVELOPER_NAME_MAX} characters, got {developer_name!r}")
    values = {
        "{{APP_ID}}": app_id,
        "{{BOT_ID}}": bot_id,
        "{{VERSION}}": version,
        "{{DEVELOPER_NAME}}": developer_name,
        "{{WEBSITE_URL}}": _check_https(website_url, "The website URL"),
        "{{PRIVACY_URL}}": _check_https(privacy_url, "The privacy URL"),
        "{{TERMS_URL}}": _check_https(terms_url, "The terms of use URL"),
    }
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    unknown = set(_template_placeholders(template)) - set(values)
    if unknown:
        raise RuntimeError(f"manifest.template.json has placeholders this code does not fill: {sorted(unknown)}")
    manifest = _fill(template, values)
    domains = list(valid_domains or [])
    for domain in domains:
        if not DOMAIN_RE.match(domain):
            raise ValueError(f"A valid domain is a host name such as bot.example.sch.uk (no https://), got {domain!r}")
    manifest["validDomains"] = domains
    return manifest


def build_package(bot_app_id: str, out: Path, **options: Any) -> Path:
    """Write the Teams app package zip (manifest.json and both icons at the root) to out and return its path."""
    manifest = render_manifest(bot_app_id, **options)  # the same keyword options, checked there
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for icon in ICONS:
            zf.write(MANIFEST_DIR / icon, arcname=icon)
    # Replace in one step so a half-written zip is never left where Teams Admin might pick it up.
    tmp.replace(out)
    return out


def register(commands: Subcommands) -> None:
    """Add the manifest command."""
    parser = add_command(commands, "manifest", run_manifest, "build the Teams app package (a zip) to upload",
                         "Build the ThinkFirst Teams app package to upload in Teams or the Teams admin centre.",
                         "example:\n  python app.py manifest --app-id <Microsoft App ID> --out thinkfirst.zip "
                         '--developer-name "Villiers Primary School"')
    parser.add_argument("--app-id", required=True, help="the Azure bot's Microsoft App ID (a GUID)")
    parser.add_argument("--out", default="thinkfirst.zip", type=Path, help="where to write the zip")
    parser.add_argument("--teams-app-id", default=None, help="the Teams app id (a GUID); defaults to the bot app id")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="app version, for example 1.0.0")
    parser.add_argument("--developer-name", default=DEFAULT_DEVELOPER_NAME, help="your school or trust's name")
    parser.add_argument("--website-url", default=DEFAULT_WEBSITE_URL, help="your school's website (https)")
    parser.add_argument("--privacy-url", default=DEFAULT_PRIVACY_URL, help="your privacy notice (https)")
    parser.add_argument("--terms-url", default=DEFAULT_TERMS_URL, help="your terms of use (https)")
    parser.add_argument(
        "--valid-domain", action="append", default=[], dest="valid_domains", help="a domain the app uses (repeatable)"
    )


def run_manifest(ns: argparse.Namespace, run: Invocation) -> int:
    """The manifest command: build the package and say where it is."""
    stdout = run.stdout
    try:
        path = build_package(
            ns.app_id,
            ns.out,
            teams_app_id=ns.teams_app_id,
            version=ns.version,
            developer_name=ns.developer_name,
            website_url=ns.website_url,
            privacy_url=ns.privacy_url,
            terms_url=ns.terms_url,
            valid_domains=ns.valid_domains,
        )
    except ValueError as exc:
        return fail(f"Cannot build the app package: {exc}", USAGE_ERROR)
    print(f"Wrote {path}", file=stdout)
    if ns.developer_name == DEFAULT_DEVELOPER_NAME or ns.website_url == DEFAULT_WEBSITE_URL:
        print(
            "Note: the developer name or web addresses are still the placeholders; set --developer-name, "
            "--website-url, --privacy-url and --terms-url to your school's before uploading.",
            file=stdout,
        )
    return 0
