"""Static checks of what ships beside the package: Dockerfile, deploy/ and examples/.

The CI recipes under examples/ are copied into users' repositories, where a typo in a
flag only shows up on their next pull request; so every `faas-gitops` invocation in
them, and every FAAS_GITOPS_* environment twin used by them or by the Kubernetes
manifests, is checked against the real argument parser.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from faas_gitops.cli import build_parser
from tests.harness import ROOT
from tests.shipped.kustomize import KUSTOMIZATIONS, render

YAML_FILES = sorted(
    path
    for top in ("deploy", "examples")
    for path in (ROOT / top).rglob("*")
    if path.suffix in {".yml", ".yaml"} and path.is_file()
)
GITHUB_RECIPES = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
GITLAB_RECIPES = [ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"]
# Environment variables the CLI reads that are not FAAS_GITOPS_<FLAG> twins.
EXTRA_ENV = {"FAAS_API_KEY", "FAAS_API_KEY_FILE", "FAAS_API_URL"}
SUBCOMMANDS = {"history", "emulator", "demo"}
# `faas-gitops` where a shell expects a command: line start, after ; & | ( or $(.
INVOCATION = re.compile(r"(?:^|[;&|(]\s*|\$\(\s*)(faas-gitops)(?=\s|$)")
SHELL_OPERATORS = {";", "&", "&&", "|", "||", ">", ">>", "<", "<<", "(", ")", "2>", "|&"}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _load_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


@pytest.fixture(scope="module")
def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {opt: action for action in parser._actions for opt in action.option_strings}


# --- every YAML file parses ---------------------------------------------------------


def test_there_are_yaml_files_to_check() -> None:
    assert len(YAML_FILES) >= 8, [_rel(p) for p in YAML_FILES]
    assert GITHUB_RECIPES
    assert all(p.is_file() for p in GITLAB_RECIPES)


@pytest.mark.parametrize("path", YAML_FILES, ids=_rel)
def test_yaml_parses(path: Path) -> None:
    assert _load_all(path), f"{_rel(path)} holds no YAML document"


# --- the CI recipes call flags that exist ------------------------------------------------


def _github_scripts(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    for job in doc["jobs"].values():
        for step in job.get("steps", []):
            if "run" in step:
                yield step["run"], {**job.get("env", {}), **step.get("env", {})}


def _gitlab_scripts(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    global_vars = doc.get("variables", {})
    for name, job in doc.items():
        if not isinstance(job, dict) or name in {"variables", "default", "workflow"}:
            continue
        env = {**global_vars, **job.get("variables", {})}
        for key in ("before_script", "script", "after_script"):
            lines = job.get(key, [])
            for line in [lines] if isinstance(lines, str) else lines:
                yield str(line), env


def _recipe_scripts(path: Path) -> list[tuple[str, dict[str, str]]]:
    (doc,) = _load_all(path)
    scripts = _github_scripts if path in GITHUB_RECIPES else _gitlab_scripts
    return list(scripts(doc))


def invocations(script: str) -> list[list[str]]:
    """The argument lists of the `faas-gitops` commands in a shell script."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        for match in INVOCATION.finditer(line):
            lexer = shlex.shlex(line[match.end(1) :], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            args = []
            for token in lexer:
                if token in SHELL_OPERATORS or token.startswith("#"):
                    break
                args.append(token)
            found.append(args)
    return found


def test_invocations_parser_finds_commands_and_ignores_the_rest() -> None:
    script = (
        "set +e\nfaas-gitops --version\nfaas-gitops --sync-once \\\n  --repo . > plan.md || s=$?\n"
        'pip install "faas-gitops @ git+https://x"\necho "faas-gitops failed"\n'
        "x=$(faas-gitops --sync-once --output json | jq .)\n"
    )
    assert invocations(script) == [
        ["--version"],
        ["--sync-once", "--repo", "."],
        ["--sync-once", "--output", "json"],
    ]


def _check_args(args: list[str], options: dict[str, argparse.Action], where: str) -> None:
    if args and args[0] in SUBCOMMANDS:
        return
    for i, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        flag, _, inline_value = arg.partition("=")
        assert flag in options, f"{where}: faas-gitops has no flag {flag}"
        action = options[flag]
        if action.choices is not None and action.nargs != 0:
            value = inline_value or args[i + 1]
            assert value in action.choices, f"{where}: {flag} {value} not in {action.choices}"


@pytest.mark.parametrize("path", GITHUB_RECIPES + GITLAB_RECIPES, ids=_rel)
def test_recipe_calls_existing_flags(path: Path, options: dict[str, argparse.Action]) -> None:
    calls = [args for script, _ in _recipe_scripts(path) for args in invocations(script)]
    assert any("--sync-once" in args for args in calls), f"{_rel(path)} never runs --sync-once"
    for args in calls:
        _check_args(args, options, _rel(path))


@pytest.mark.parametrize("path", GITHUB_RECIPES + GITLAB_RECIPES, ids=_rel)
def test_recipe_environment_twins_exist(path: Path, options: dict[str, argparse.Action]) -> None:
    for _, env in _recipe_scripts(path):
        _check_env(env, options, _rel(path))


def _check_env(env: dict[str, Any], options: dict[str, argparse.Action], where: str) -> None:
    """Every FAAS_* variable set must be one faas-gitops reads.

    The help text names each flag's variable ("[env FAAS_GITOPS_REPO]"); where it
    names none, fall back to the FAAS_GITOPS_<FLAG> naming rule.
    """
    named = {
        name
        for action in options.values()
        for name in re.findall(r"\b(FAAS_[A-Z0-9_]*[A-Z0-9])\b", action.help or "")
    }
    for name in env:
        if not name.startswith("FAAS_"):
            continue
        if named:
            assert name in named | EXTRA_ENV, f"{where}: faas-gitops does not read {name}"
        elif name.startswith("FAAS_GITOPS_"):
            flag = "--" + name.removeprefix("FAAS_GITOPS_").lower().replace("_", "-")
            assert flag in options, f"{where}: {name} is the twin of {flag}, which does not exist"
        else:
            assert name in EXTRA_ENV, f"{where}: faas-gitops does not read {name}"


def test_plan_recipes_are_dry_runs_with_markdown(options: dict[str, argparse.Action]) -> None:
    plans = [ROOT / "examples" / "github-actions" / "faas-gitops-plan.yml", *GITLAB_RECIPES]
    for path in plans:
        calls = [args for script, _ in _recipe_scripts(path) for args in invocations(script)]
        dry = [args for args in calls if "--dry-run" in args]
        assert dry, f"{_rel(path)} has no --dry-run plan"
        assert all("--output" in args and "markdown" in args for args in dry)


def test_github_sync_recipe_runs_on_push_to_main_with_a_secret() -> None:
    (doc,) = _load_all(ROOT / "examples" / "github-actions" / "faas-gitops-sync.yml")
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["push"]["branches"] == ["main"]
    envs = [env for _, env in _github_scripts(doc)]
    assert any(env.get("FAAS_API_KEY") == "${{ secrets.FAAS_API_KEY }}" for env in envs)


# --- Kubernetes manifests ------------------------------------------------------------------


def _config_maps(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (d for d in docs if d.get("kind") == "ConfigMap")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {_rel(directory): render(directory) for directory in KUSTOMIZATIONS}


def test_kustomizations_found() -> None:
    names = {_rel(d) for d in KUSTOMIZATIONS}
    assert {
        "deploy/kubernetes/base",
        "deploy/kubernetes/overlays/example",
        "deploy/kubernetes/polling",
    } <= names


@pytest.mark.slow
def test_rendered_config_maps_use_existing_env_twins(
    rendered: dict[str, list[dict[str, Any]]], options: dict[str, argparse.Action]
) -> None:
    for name, docs in rendered.items():
        for config_map in _config_maps(docs):
            _check_env(
                config_map.get("data", {}), options, f"{name} {config_map['metadata']['name']}"
            )


def _repos(docs: list[dict[str, Any]]) -> list[str]:
    return [
        cm["data"]["FAAS_GITOPS_REPO"]
        for cm in _config_maps(docs)
        if "FAAS_GITOPS_REPO" in cm["data"]
    ]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


@pytest.mark.slow
def test_rendered_deployments_are_locked_down(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in rendered.items():
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        assert deployment["spec"]["replicas"] == 1, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in _containers(pod):
            where = f"{name} {container['name']}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["runAsNonRoot"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys(), where

        (app,) = [c for c in pod["containers"] if c["name"] == "faas-gitops"]
        assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in app["ports"]
        assert app["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert app["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        mounts = {m["mountPath"]: m for m in app["volumeMounts"]}
        assert "/var/lib/faas-gitops" in mounts, name
        assert mounts["/etc/faas-gitops"]["readOnly"] is True, name
        env = {
            k: v
            for cm in _config_maps(docs)
            if cm["metadata"]["name"].startswith("faas-gitops-")
            for k, v in cm["data"].items()
        }
        assert env["FAAS_API_KEY_FILE"] == "/etc/faas-gitops/api-key", name
        assert env["FAAS_GITOPS_STATE_DIR"] == "/var/lib/faas-gitops", name

        (service,) = [d for d in docs if d["kind"] == "Service"]
        assert service["spec"]["ports"][0]["port"] == 8080


def test_git_sync_sidecar_shares_its_link_with_faas_gitops(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    for name in ("deploy/kubernetes/base", "deploy/kubernetes/overlays/example"):
        docs = rendered[name]
        (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        (sidecar,) = [c for c in _containers(pod) if c["name"] == "git-sync"]
        assert sidecar["image"].startswith("registry.k8s.io/git-sync/git-sync:v4.")
        assert "--root=/git" in sidecar["args"]
        assert "--link=current" in sidecar["args"]
        (app,) = [c for c in pod["containers"] if c["name"] == "faas-gitops"]
        # Same mount path in both: a git-sync worktree points at its repo by absolute path.
        assert any(m["mountPath"] == "/git" for m in sidecar["volumeMounts"])
        assert any(m["mountPath"] == "/git" for m in app["volumeMounts"])
        assert _repos(docs) == ["/git/current"], name

    polling = rendered["deploy/kubernetes/polling"]
    (deployment,) = [d for d in polling if d["kind"] == "Deployment"]
    names = [c["name"] for c in _containers(deployment["spec"]["template"]["spec"])]
    assert names == ["faas-gitops"]
    repos = _repos(polling)
    assert len(repos) == 1
    assert repos[0].startswith("https://")


def test_example_secrets_are_placeholders() -> None:
    for path in (ROOT / "deploy").rglob("*.example"):
        assert "REPLACE-ME" in path.read_text(encoding="utf-8"), _rel(path)


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_shape() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-bookworm$", text, re.M)
    assert len(re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS \w+$", text, re.M)) == 2  # multi-stage
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), users  # numeric, not root
    assert re.search(r'^ENTRYPOINT \["faas-gitops"\]$', text, re.M)
    assert re.search(r"^EXPOSE 8080$", text, re.M)
    assert "/var/lib/faas-gitops" in text
    assert re.search(r"apt-get install .*\bgit\b", text)
    # what git runs to check signatures (--verify-signatures)
    assert re.search(r"apt-get install .*\bgnupg\b.*\bopenssh-client\b", text)
    for label in ("title", "source", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{label}=" in text, label
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[ignore.index("*") :][:1] == ["*"], "keep .dockerignore an allow-list"
