"""Every shipped recipe, run the way its CI system or Kubernetes runs it, deploys.

CI runners and git-sync check a commit out on a detached HEAD, and a detached HEAD names no
branch. A sync picks its environments by the branch it syncs (or a tag on the commit), so a
recipe that does not say which branch, tag or environment it syncs deploys nothing, and the
only hint is ``"active": []`` in a log line. So each test here builds the checkout that
runner or git-sync leaves (a real clone, detached), takes the recipe's own commands out of its
YAML, expands the variables CI would set for the scenario, runs its ``git`` lines with git and
its ``faas-gitops`` line with the real CLI in-process against the emulator on loopback, and
reads the deployments from the recipe's own output and from the emulator's store.

The one liberty taken: ``FAAS_API_URL`` points at the emulator instead of PubNub.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from faas_gitops.models import DeployStatus
from tests.gitrepo import GitRepo, isolated_git_env
from tests.harness import API_KEY, MODES, ROOT, SAMPLE_REPO, Run, sample_repo
from tests.source.git_signing import MISSING_TOOLS, SKIP_REASON, commit, ssh_signer, trust

pytestmark = pytest.mark.slow

GITHUB_PLAN = ROOT / "examples" / "github-actions" / "faas-gitops-plan.yml"
GITHUB_SYNC = ROOT / "examples" / "github-actions" / "faas-gitops-sync.yml"
GITLAB = ROOT / "examples" / "gitlab-ci" / ".gitlab-ci.yml"
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
POLLING = KUBERNETES / "polling"

# sample-repo/faas-gitops.yaml: main deploys to staging, v* tags to production.
STAGING = 412345
PRODUCTION = 498765
PACKAGES = ("chat-moderation", "presence-tracker", "webhooks")

# A command where a shell expects one: line start, after ; & | ( or $(.
COMMAND = re.compile(r"(?:^|[;&|(]\s*|\$\(\s*)(git|faas-gitops)(?=\s|$)")
SHELL_OPERATORS = {";", "&", "&&", "|", "||", ">", ">>", "<", "<<", "(", ")", "2>", "|&"}
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
SECRET = re.compile(r"\$\{\{\s*secrets\.(\w+)\s*\}\}")
STATUS = "|".join(re.escape(status.value) for status in DeployStatus)
TEXT_DEPLOYMENT = re.compile(rf"^\s+([\w.-]+): .*? ({STATUS})(?:\s\s|$)")

Statuses = dict[tuple[str, str], str]


# --- reading a recipe -------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One CI job or step: its shell script and the environment the recipe gives it."""

    script: str
    env: Mapping[str, str]


def _load(path: Path) -> dict[Any, Any]:
    with path.open(encoding="utf-8") as f:
        document = yaml.safe_load(f)
    assert isinstance(document, dict), path
    return document


def github_step(path: Path, step_name: str) -> Job:
    """The step named ``step_name`` of the workflow, with the workflow's, job's and its env."""
    workflow = _load(path)
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if step.get("name") == step_name:
                env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                return Job(step["run"], env)
    raise AssertionError(f"{path.name} has no step {step_name!r}")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's ``extends``: mappings merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolved(document: dict[str, Any], name: str) -> dict[str, Any]:
    job = document[name]
    parents = job.get("extends", [])
    resolved: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        resolved = _merge(resolved, _resolved(document, parent))
    return _merge(resolved, {k: v for k, v in job.items() if k != "extends"})


def gitlab_job(name: str) -> Job:
    """The job after ``extends``, its script lines joined, global then job variables."""
    document = _load(GITLAB)
    job = _resolved(document, name)
    lines = job["script"]
    script = "\n".join(str(line) for line in ([lines] if isinstance(lines, str) else lines))
    return Job(script, {**document.get("variables", {}), **job.get("variables", {})})


def commands(script: str) -> list[tuple[str, list[str]]]:
    """The ``git`` and ``faas-gitops`` commands of a shell script, with their words.

    Words keep their ``$VARIABLES`` (quotes are removed, so a word is one argument): they are
    expanded by ``expand`` with the scenario's CI variables.
    """
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        for match in COMMAND.finditer(line):
            lexer = shlex.shlex(line[match.end(1) :], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words = []
            for token in lexer:
                if token in SHELL_OPERATORS or token.startswith("#"):
                    break
                words.append(token)
            found.append((match.group(1), words))
    return found


def expand(word: str, variables: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` replaced; a variable CI would not set fails the test."""
    assert "${{" not in word, f"a GitHub expression in a shell command: {word}"

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in variables, f"{word}: CI sets no {name} in this scenario"
        return variables[name]

    return VARIABLE.sub(value, word)


def github_env(env: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """A step's ``env:`` with ``${{ secrets.NAME }}`` filled in (no other expression used)."""

    def secret(match: re.Match[str]) -> str:
        return secrets[match.group(1)]

    filled = {name: SECRET.sub(secret, str(value)) for name, value in env.items()}
    assert not any("${{" in value for value in filled.values()), filled
    return filled


def gitlab_env(env: Mapping[str, str], ci: Mapping[str, str]) -> dict[str, str]:
    """Job variables as GitLab expands them: ``$NAME`` from the CI and project variables."""
    return {name: expand(str(value), ci) for name, value in env.items()}


# --- reading a result -------------------------------------------------------------------------


def markdown_statuses(markdown: str) -> Statuses:
    """(path, environment) -> status, from the **Deployments** table of ``--output markdown``."""
    lines = markdown.splitlines()
    assert "**Deployments**" in lines, markdown
    found: Statuses = {}
    for line in lines[lines.index("**Deployments**") + 1 :]:
        if not line.strip():
            if found:
                break
            continue
        if not line.startswith("|"):
            break
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if cells[0] in {"path"} or set(cells[0]) <= {"-", ":"}:
            continue
        found[(cells[0], cells[1])] = cells[3]
    # What is already in sync is one collapsed line: "<summary>2 deployments in sync</summary>",
    # then "`path` on `environment`, ...".
    after = lines[lines.index("**Deployments**") :]
    for at, line in enumerate(after):
        if re.fullmatch(r"<summary>\d+ deployments? in sync</summary>", line):
            listed = next(item for item in after[at + 1 :] if item.strip())
            for path, environment in re.findall(r"`([^`]+)` on `([^`]+)`", listed):
                found[(path, environment)] = "in-sync"
    return found


def text_statuses(text: str) -> Statuses:
    """(path, environment) -> status, from the indented lines under each package's row."""
    found: Statuses = {}
    path = ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            words = line.split()
            path = words[1] if len(words) > 1 else ""
        elif match := TEXT_DEPLOYMENT.match(line):
            found[(path, match.group(1))] = match.group(2)
    return found


def json_statuses(output: str) -> Statuses:
    return {
        (package["path"], deployment["environment"]): deployment["status"]
        for package in json.loads(output)["packages"]
        for deployment in package["deployments"]
    }


def every_package(environment: str, status: str) -> Statuses:
    return {(path, environment): status for path in PACKAGES}


def running(emulator: RunningEmulator, keyset_id: int) -> dict[str, str]:
    """Package name -> the revision name RUNNING on the keyset, from the emulator's store."""
    store = emulator.store
    return {
        package["name"]: revision["name"]
        for package in store.packages()
        for revision in store.revisions(package["id"])
        for deployment in store.revision_deployments(revision["id"])
        if deployment["keysetId"] == keyset_id and deployment["state"] == "RUNNING"
    }


def writes(emulator: RunningEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emulator.requests if r.method != "GET"]


# --- the world: an upstream repository, the emulator, the checkouts ---------------------------


def git(cwd: Path, env: Mapping[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@dataclass
class World:
    """One test's world: the repository CI and git-sync clone (the sample packages and
    faas-gitops.yaml on main), the emulator, and ways to check out and run like CI does."""

    upstream: GitRepo
    emulator: RunningEmulator
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    @property
    def git_env(self) -> dict[str, str]:
        return isolated_git_env(self.tmp / "git-home")

    def runner_checkout(
        self,
        name: str,
        commit: str,
        *,
        local_branch: str | None = None,
        extra_refspecs: tuple[str, ...] = (),
    ) -> Path:
        """The clone a CI job starts in: every branch as ``origin/*``, every tag, HEAD detached.

        That is how GitLab checks out every job and GitHub a pull request or a tag (full-depth
        fetches). ``local_branch`` is the local branch actions/checkout makes for a push;
        GitHub attaches HEAD to it, here HEAD stays detached so that a recipe which stopped
        naming its ref would fail.
        """
        dest = self.tmp / name
        dest.mkdir(parents=True)
        env = self.git_env
        git(dest, env, "init", "--quiet")
        git(dest, env, "remote", "add", "origin", self.upstream.root.as_uri())
        refspecs = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
        git(dest, env, "fetch", "--quiet", "origin", *refspecs, *extra_refspecs)
        if local_branch is not None:
            git(dest, env, "branch", local_branch, commit)
        git(dest, env, "checkout", "--quiet", "--detach", commit)
        return dest

    def git_sync_checkout(self, root: Path, ref: str) -> Path:
        """What git-sync v4 leaves under ``--root`` (its main.go): a repository made with
        ``git init -b git-sync``, the one ref fetched (``--depth 1``, into FETCH_HEAD, no
        tags), HEAD's branch ``git-sync`` soft-reset to it, a ``--detach``ed worktree for the
        commit and the ``--link`` symlink to it. No branch of the remote is named anywhere."""
        env = self.git_env
        root.mkdir(parents=True)
        git(root, env, "init", "--quiet", "-b", "git-sync")
        url = self.upstream.root.as_uri()
        git(root, env, "fetch", "--quiet", "--depth", "1", "--no-auto-gc", url, ref)
        sha = git(root, env, "rev-parse", "FETCH_HEAD^{}")
        git(root, env, "reset", "--quiet", "--soft", sha, "--")
        git(
            root, env, "worktree", "add", "--quiet", "--force", "--detach", f".worktrees/{sha}", sha
        )
        (root / "current").symlink_to(f".worktrees/{sha}")
        return root / "current"

    def only_env(self, variables: Mapping[str, str]) -> None:
        """The FAAS_* variables of ``variables`` and no other (none of the machine's leaks
        in), with ``FAAS_API_URL`` aimed at the emulator."""
        for name in [name for name in os.environ if name.startswith("FAAS_")]:
            self.monkeypatch.delenv(name)
        self.monkeypatch.delenv("XDG_STATE_HOME", raising=False)
        for name, value in variables.items():
            if name.startswith("FAAS_"):
                self.monkeypatch.setenv(name, value)
        self.monkeypatch.setenv("FAAS_API_URL", self.emulator.url)

    def cli(self, *argv: str) -> Run:
        self.capsys.readouterr()
        code = cli.main(list(argv))
        out, err = self.capsys.readouterr()
        return Run(code, out, err)

    def run(self, job: Job, checkout: Path, ci: Mapping[str, str], env: Mapping[str, str]) -> Run:
        """Run a job in ``checkout``: its git commands with git, its sync with the real CLI.

        ``ci`` is what the CI system sets (its predefined and project variables), ``env`` the
        recipe's own job environment, already expanded. Exactly one ``--sync-once`` must run.
        """
        variables = {**ci, **env}
        self.monkeypatch.chdir(checkout)
        self.only_env(variables)
        runs = []
        for program, words in commands(job.script):
            args = [expand(word, variables) for word in words]
            if program == "git":
                git(checkout, {**self.git_env, **variables}, *args)
            elif "--sync-once" in args:
                runs.append(self.cli(*args))
        assert len(runs) == 1, f"expected one --sync-once, ran {len(runs)}"
        return runs[0]

    def sync_main_first(self) -> None:
        """Deploy main to staging the plain way (HEAD on main), as the sync of main did."""
        self.only_env({"FAAS_API_KEY": API_KEY})
        state = str(self.tmp / "earlier-state")
        run = self.cli("--sync-once", "--repo", str(self.upstream.root), "--state-dir", state)
        assert run.code == 0, run.stderr
        assert running(self.emulator, STAGING).keys() == set(PACKAGES)
        self.emulator.clear_requests()

    def open_pull_request(self) -> str:
        """A branch that changes presence-tracker; the merge commit the host builds for it."""
        upstream = self.upstream
        upstream.git("checkout", "--quiet", "-b", "stricter-presence")
        upstream.write(
            "presence-tracker/presence-tracker.js", "export default (r) => r.ok(); //2\n"
        )
        head = upstream.commit("Count presence differently")
        upstream.git("checkout", "--quiet", "main")
        tree = upstream.git("rev-parse", f"{head}^{{tree}}").strip()
        message = "Merge stricter-presence"
        return upstream.git("commit-tree", tree, "-p", "main", "-p", head, "-m", message).strip()

    def pod_volumes(self) -> dict[str, Path]:
        """Stand-ins for the pod's volumes: git-sync's root, the state, the secret files, the
        trusted keys (those ``sign_main`` put there)."""
        secrets = self.tmp / "etc-faas-gitops"
        secrets.mkdir(exist_ok=True)
        (secrets / "api-key").write_text(API_KEY + "\n", encoding="utf-8")
        (secrets / "webhook-secret").write_text("not-a-real-secret\n", encoding="utf-8")
        (secrets / "status-token").write_text("not-a-real-token\n", encoding="utf-8")
        keys = self.tmp / "trusted-keys"
        keys.mkdir(exist_ok=True)
        return {
            "/git": self.tmp / "git",
            "/var/lib/faas-gitops": self.tmp / "state",
            "/etc/faas-gitops": secrets,
            "/etc/faas-gitops-keys": keys,
        }

    def sign_main(self) -> None:
        """A commit on main signed with a release key (SSH) the pod's trusted-keys hold, as
        the overlay's ``--verify-signatures head`` asks."""
        if MISSING_TOOLS:
            pytest.skip(SKIP_REASON)
        signer = ssh_signer(self.tmp, "release")
        trust(self.tmp / "trusted-keys", signer)
        commit(self.upstream, "Sign main", signer)

    def pod_sync(self, env: Mapping[str, str]) -> Run:
        """One ``--sync-once`` with the container's environment (its flags are all variables)."""
        self.only_env(env)
        return self.cli("--sync-once", "--output", "json")


@pytest.fixture
def world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[World]:
    upstream = sample_repo(tmp_path / "upstream", policy=True)
    # One list mode is enough: these tests are about what the recipes pass, not the API.
    mode: dict[str, Any] = dict(MODES["created-include-404-200"])
    config = EmulatorConfig(api_key=API_KEY, deploy_delay_ms=20, max_running_deployments=20, **mode)
    with serve_in_thread(config) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        yield World(upstream, emulator, tmp_path, monkeypatch, capsys)


# --- GitHub Actions ---------------------------------------------------------------------------


def test_the_github_pull_request_plan_shows_what_the_merge_deploys_to_staging(
    world: World,
) -> None:
    world.sync_main_first()
    merge = world.open_pull_request()
    world.upstream.git("update-ref", "refs/pull/7/merge", merge)
    pull = ("+refs/pull/7/merge:refs/remotes/pull/7/merge",)
    checkout = world.runner_checkout("runner", merge, extra_refspecs=pull)
    ci = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_BASE_REF": "main",
        "GITHUB_HEAD_REF": "stricter-presence",
        "GITHUB_REF_NAME": "7/merge",
        "GITHUB_SHA": merge,
        "RUNNER_TEMP": str(world.tmp / "runner-temp"),
    }
    step = github_step(GITHUB_PLAN, "Plan (dry run)")
    env = github_env(step.env, {"FAAS_API_KEY_READONLY": API_KEY})

    result = world.run(step, checkout, ci, env)

    assert result.code == 0, result.stderr
    assert markdown_statuses(result.stdout) == {
        ("chat-moderation", "staging"): "in-sync",
        ("presence-tracker", "staging"): "would-deploy",
        ("webhooks", "staging"): "in-sync",
    }
    assert writes(world.emulator) == []


def test_the_github_sync_deploys_a_push_to_main_to_staging_and_its_v_tag_to_production(
    world: World,
) -> None:
    workflow = _load(GITHUB_SYNC)
    triggers = workflow["on"] if "on" in workflow else workflow[True]  # YAML 1.1: on is True
    assert any(fnmatchcase("v1.0.0", glob) for glob in triggers["push"]["tags"])
    step = github_step(GITHUB_SYNC, "Sync")
    env = github_env(step.env, {"FAAS_API_KEY": API_KEY})
    push = world.runner_checkout("push", world.upstream.head(), local_branch="main")

    pushed = world.run(step, push, {"GITHUB_REF_NAME": "main", "GITHUB_REF_TYPE": "branch"}, env)

    assert pushed.code == 0, pushed.stderr
    assert markdown_statuses(pushed.stdout) == every_package("staging", "deployed")
    assert running(world.emulator, STAGING).keys() == set(PACKAGES)
    assert running(world.emulator, PRODUCTION) == {}

    world.upstream.tag("v1.0.0")
    release = world.runner_checkout("tag", "v1.0.0")
    tag_ci = {"GITHUB_REF_NAME": "v1.0.0", "GITHUB_REF_TYPE": "tag"}

    released = world.run(step, release, tag_ci, env)

    assert released.code == 0, released.stderr
    assert markdown_statuses(released.stdout) == every_package("production", "deployed")
    assert running(world.emulator, PRODUCTION) == running(world.emulator, STAGING)


# --- GitLab CI --------------------------------------------------------------------------------


def _gitlab_ci(checkout: Path, sha: str, **more: str) -> dict[str, str]:
    """Predefined variables every job has, plus the project's masked keys."""
    return {
        "CI_PROJECT_DIR": str(checkout),
        "CI_COMMIT_SHA": sha,
        "CI_DEFAULT_BRANCH": "main",
        "FAAS_API_KEY": API_KEY,
        "FAAS_API_KEY_READONLY": API_KEY,
        **more,
    }


def test_the_gitlab_merge_request_plan_shows_what_the_merge_deploys_to_staging(
    world: World,
) -> None:
    world.sync_main_first()
    merge = world.open_pull_request()
    world.upstream.git("update-ref", "refs/merge-requests/3/merge", merge)
    refspec = ("+refs/merge-requests/3/merge:refs/merge-requests/3/merge",)
    checkout = world.runner_checkout("runner", merge, extra_refspecs=refspec)
    ci = _gitlab_ci(
        checkout,
        merge,
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_MERGE_REQUEST_SOURCE_BRANCH_NAME="stricter-presence",
        CI_MERGE_REQUEST_IID="3",
    )
    job = gitlab_job("faas-gitops:plan")

    result = world.run(job, checkout, ci, gitlab_env(job.env, ci))

    assert result.code == 0, result.stderr
    assert markdown_statuses(result.stdout) == {
        ("chat-moderation", "staging"): "in-sync",
        ("presence-tracker", "staging"): "would-deploy",
        ("webhooks", "staging"): "in-sync",
    }
    assert writes(world.emulator) == []


def test_the_gitlab_sync_deploys_the_default_branch_to_staging_and_a_v_tag_to_production(
    world: World,
) -> None:
    head = world.upstream.head()
    branch = world.runner_checkout("branch", head)
    ci = _gitlab_ci(branch, head, CI_PIPELINE_SOURCE="push", CI_COMMIT_BRANCH="main")
    sync = gitlab_job("faas-gitops:sync")

    pushed = world.run(sync, branch, ci, gitlab_env(sync.env, ci))

    assert pushed.code == 0, pushed.stderr
    assert text_statuses(pushed.stdout) == every_package("staging", "deployed")
    assert running(world.emulator, STAGING).keys() == set(PACKAGES)
    assert running(world.emulator, PRODUCTION) == {}

    world.upstream.tag("v1.0.0")
    tagged = world.runner_checkout("tag", "v1.0.0")
    tag_ci = _gitlab_ci(tagged, head, CI_PIPELINE_SOURCE="push", CI_COMMIT_TAG="v1.0.0")
    release = gitlab_job("faas-gitops:release")
    assert re.search(r"CI_COMMIT_TAG =~ /\^v/", str(_load(GITLAB)["faas-gitops:release"]))

    released = world.run(release, tagged, tag_ci, gitlab_env(release.env, tag_ci))

    assert released.code == 0, released.stderr
    assert text_statuses(released.stdout) == every_package("production", "deployed")
    assert running(world.emulator, PRODUCTION) == running(world.emulator, STAGING)


# --- Kubernetes -------------------------------------------------------------------------------


def _generators(directory: Path) -> dict[str, dict[str, str]]:
    """ConfigMap name -> data, from the configMapGenerator literals of a kustomization and
    the directories it builds on (``behavior: merge`` adds to the base's)."""
    kustomization = _load(directory / "kustomization.yaml")
    maps: dict[str, dict[str, str]] = {}
    for resource in kustomization.get("resources", []):
        if (directory / resource).is_dir():
            for name, data in _generators((directory / resource).resolve()).items():
                maps.setdefault(name, {}).update(data)
    for generator in kustomization.get("configMapGenerator", []):
        data = dict(literal.split("=", 1) for literal in generator.get("literals", []))
        if generator.get("behavior") == "merge":
            maps[generator["name"]].update(data)
        else:
            maps[generator["name"]] = data
    return maps


def _rendered(directory: Path) -> dict[str, dict[str, str]] | None:
    """The ConfigMaps the pod's containers read through ``envFrom``, name unhashed -> data, as
    ``kubectl kustomize`` renders them; None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    documents = [d for d in yaml.safe_load_all(done.stdout) if d]
    (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    references = {
        source["configMapRef"]["name"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]
        for source in container.get("envFrom", [])
    }
    return {
        re.sub(r"-[a-z0-9]{10}$", "", d["metadata"]["name"]): d["data"]
        for d in documents
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] in references
    }


def config_maps(directory: Path) -> dict[str, dict[str, str]]:
    """What the pod's containers read: rendered by kustomize when kubectl is installed, else
    read from the generators (the same thing, see the test below)."""
    rendered = _rendered(directory)
    return rendered if rendered is not None else _generators(directory)


@pytest.mark.parametrize("directory", [OVERLAY, POLLING], ids=lambda d: d.name)
def test_reading_the_generators_gives_what_kustomize_renders(directory: Path) -> None:
    rendered = _rendered(directory)
    if rendered is None:
        pytest.skip("kubectl is not installed")
    generated = _generators(directory)
    assert {name: generated[name] for name in rendered} == rendered


def pod_env(data: Mapping[str, str], mounts: Mapping[str, Path]) -> dict[str, str]:
    """The container's variables with each path on a pod volume moved to its stand-in."""
    env = {}
    for name, value in data.items():
        moved = value
        for mount, stand_in in mounts.items():
            if value == mount or value.startswith(mount + "/"):
                moved = str(stand_in) + value.removeprefix(mount)
        env[name] = moved
    return env


def test_the_kubernetes_overlay_deploys_what_git_sync_checks_out_to_staging(
    world: World,
) -> None:
    world.sign_main()
    maps = config_maps(OVERLAY)
    volumes = world.pod_volumes()
    link = world.git_sync_checkout(volumes["/git"], maps["git-sync"]["GITSYNC_REF"])
    env = pod_env(maps["faas-gitops"], volumes)
    assert env["FAAS_GITOPS_REPO"] == str(link)

    result = world.pod_sync(env)

    assert result.code == 0, result.stderr
    assert json_statuses(result.stdout) == every_package("staging", "deployed")
    assert running(world.emulator, STAGING).keys() == set(PACKAGES)
    assert running(world.emulator, PRODUCTION) == {}


def test_the_kubernetes_overlay_refuses_a_commit_no_trusted_key_signed(world: World) -> None:
    world.sign_main()  # the key is trusted, but the commit git-sync checks out is unsigned
    unsigned = world.upstream.commit("Push without signing")
    maps = config_maps(OVERLAY)
    volumes = world.pod_volumes()
    world.git_sync_checkout(volumes["/git"], maps["git-sync"]["GITSYNC_REF"])

    result = world.pod_sync(pod_env(maps["faas-gitops"], volumes))

    assert result.code == 2
    assert f"commit {unsigned[:12]} (--verify-signatures head): no signature" in result.stderr
    assert world.emulator.requests == []


def test_git_sync_keeps_no_branch_that_faas_gitops_ref_could_name(world: World) -> None:
    """Why the overlay names the environment: naming git-sync's ref as FAAS_GITOPS_REF fails,
    because git-sync fetched that ref into FETCH_HEAD only."""
    world.sign_main()
    maps = config_maps(OVERLAY)
    ref = maps["git-sync"]["GITSYNC_REF"]
    volumes = world.pod_volumes()
    world.git_sync_checkout(volumes["/git"], ref)
    env = pod_env(maps["faas-gitops"], volumes)
    del env["FAAS_GITOPS_ENVIRONMENT"]

    result = world.pod_sync({**env, "FAAS_GITOPS_REF": ref})

    assert result.code != 0
    assert f"--ref {ref}: not found" in result.stdout + result.stderr
    assert writes(world.emulator) == []


def test_the_kubernetes_polling_variant_deploys_its_branch_to_staging(world: World) -> None:
    env = pod_env(config_maps(POLLING)["faas-gitops"], world.pod_volumes())
    assert env["FAAS_GITOPS_REPO"].startswith("https://")
    env["FAAS_GITOPS_REPO"] = world.upstream.root.as_uri()  # the same remote, over file://

    result = world.pod_sync(env)

    assert result.code == 0, result.stderr
    assert json_statuses(result.stdout) == every_package("staging", "deployed")


# --- the failure mode, visible ----------------------------------------------------------------


def test_a_detached_head_that_activates_no_environment_says_why_on_stdout(world: World) -> None:
    detached = world.tmp / "detached"
    git(world.upstream.root, world.git_env, "worktree", "add", "--quiet", "--detach", str(detached))
    world.only_env({"FAAS_API_KEY": API_KEY})
    state = str(world.tmp / "state")

    run = world.cli("--sync-once", "--repo", str(detached), "--state-dir", state)

    assert run.code == 0, run.stderr
    assert running(world.emulator, STAGING) == {}  # nothing deployed: that is the failure mode
    assert any("--ref" in line and "--environment" in line for line in run.stdout.splitlines())
