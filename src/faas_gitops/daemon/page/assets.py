"""The pages' CSS and JS, kept apart from the rendering so each reads on its own.

System fonts only (no download), light and dark from the operator's own setting; status is
never colour alone: every failure also says "failed" and carries a ✕. Tables are real tables
(``<th scope>``, ARIA roles kept when CSS stacks them into cards below ``NARROW_PX``), so a
screen reader announces each cell with its environment; on a narrow screen each cell also
shows its label (``data-label``).
"""

#: Below this width tables become stacked cards (a phone: nothing scrolls sideways).
NARROW_PX = 760

STYLE = (
    """
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d232b;--muted:#626b77;--card:#fff;
--line:#e2e5ea;--head:#eef0f3;--good:#137333;--good-bg:#e6f4ea;--bad:#b3261e;--bad-bg:#fce8e6;
--info:#1a56a8;--info-bg:#e8f0fe;--warn:#8a5300;--warn-bg:#fef3e0;--grey-bg:#eceef1}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e4e7eb;--muted:#9aa2ad;
--card:#181c21;--line:#2a3038;--head:#1f242b;--good:#7fd49a;--good-bg:#16301f;--bad:#ff9b92;
--bad-bg:#3a1a18;--info:#9cc0ff;--info-bg:#172640;--warn:#f5c26b;--warn-bg:#35280f;
--grey-bg:#262b33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:var(--info)}
code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
overflow-wrap:anywhere}
pre{margin:0;padding:10px;overflow-x:auto;max-width:100%;background:var(--card);
border:1px solid var(--line);border-radius:8px;font:12px/1.4 ui-monospace,Menlo,Consolas,
monospace}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;padding:12px 20px;
background:var(--card);border-bottom:1px solid var(--line)}
.top h1{font-size:18px;margin:0;letter-spacing:.2px}
.top a{font-size:13px}
.live{color:var(--muted);font-size:12px}
.live.offline{color:var(--bad)}
main{padding:14px 20px 40px}
.facts{display:flex;flex-wrap:wrap;gap:10px;margin:0 0 14px}
.fact{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 12px;
min-width:0;max-width:100%}
.fact dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.6px}
.fact dd{margin:2px 0 0;display:flex;gap:6px;align-items:center;flex-wrap:wrap;
overflow-wrap:anywhere}
.banner{background:var(--bad-bg);color:var(--bad);border:1px solid var(--bad);border-radius:8px;
padding:8px 12px;margin:0 0 14px;font-weight:500;overflow-wrap:anywhere}
section{margin-top:18px}
h2{font-size:15px;margin:0 0 8px}
.count{color:var(--muted);font-weight:400;font-size:13px;margin-left:6px}
.bad-text{color:var(--bad)}
table{border-collapse:separate;border-spacing:0;width:100%;table-layout:fixed;
background:var(--card);border:1px solid var(--line);border-radius:8px}
th,td{padding:7px 10px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line);
overflow-wrap:anywhere;word-break:normal}
thead th{background:var(--head);font-size:12px;color:var(--muted);font-weight:600}
tbody th{font-weight:400}
tbody tr:last-child>*{border-bottom:0}
tr.failing>*{background:var(--bad-bg)}
tr.failing>:first-child{box-shadow:inset 3px 0 0 var(--bad)}
.grid th.pkg{width:30%}
.grid .env{border-left:1px solid var(--line)}
.env-name{font-size:14px;color:var(--fg);font-weight:700}
a.path{font-weight:700}
.name{color:var(--muted);margin-left:6px}
.sub{color:var(--muted);font-size:12px;margin-top:3px}
.note{color:var(--muted);font-size:12px}
.error{color:var(--bad);font-size:12.5px;margin-top:3px}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:0 7px;border-radius:999px;font-size:12px;font-weight:600;
background:var(--grey-bg);color:var(--muted);white-space:nowrap}
.pill-in-sync,.pill-created,.pill-deployed,.pill-open{background:var(--good-bg);color:var(--good)}
.pill-adopted,.pill-deploying,.pill-pinned,.pill-promoted,.pill-rolled-back,.pill-removed
{background:var(--info-bg);color:var(--info)}
.pill-out-of-sync,.pill-would-create,.pill-frozen,.pill-held,.pill-orphaned,.pill-dry-run
{background:var(--warn-bg);color:var(--warn)}
.pill-bad{background:var(--bad-bg);color:var(--bad);border:1px solid var(--bad)}
.list th:nth-child(1){width:9%}.list th:nth-child(2){width:11%}.list th:nth-child(3){width:9%}
.list th:nth-child(4){width:10%}.list th:nth-child(5){width:19%}.list th:nth-child(6){width:17%}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
ul.steps{margin:0;padding-left:16px}
#running th.envcol{width:30%}
h3{font-size:14px;margin:14px 0 6px}
"""
    + f"@media (max-width:{NARROW_PX}px){{"
    + """
main{padding:10px 10px 30px}.top{padding:10px}
table.stack,.stack tbody,.stack tr,.stack th,.stack td{display:block;width:auto!important}
table.stack{border:0;background:none}
.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.stack tr{background:var(--card);border:1px solid var(--line);border-radius:8px;
margin:0 0 10px}
.stack td,.stack tbody th{border-bottom:1px solid var(--line);border-left:0}
.stack td[data-label]::before{content:attr(data-label);display:block;font-size:11px;
color:var(--muted);text-transform:uppercase;letter-spacing:.5px;font-weight:600}
dl.kv{grid-template-columns:1fr}
}
"""
)

#: Every ``REFRESH_MS`` reads ``/api/status``; only when it changed (or once a minute, for the
#: "3 min ago" texts) fetches the server-rendered ``<main>`` and swaps it in, keeping the scroll
#: position and every open ``<details>``. On failure it says so and keeps the last view.
#: ``REFRESH_MS`` is defined by the page just before this text.
SCRIPT = """
(() => {
  const live = document.getElementById("live");
  let last = null;
  let swapped = Date.now();
  async function swap() {
    const answer = await fetch("?part=main", {cache: "no-store"});
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    const template = document.createElement("template");
    template.innerHTML = await answer.text();
    const main = template.content.getElementById("app");
    if (!main) throw new Error("unexpected answer");
    const x = window.scrollX, y = window.scrollY;
    const open = Array.from(document.querySelectorAll("details[open][data-key]"),
                            (d) => d.dataset.key);
    document.getElementById("app").replaceWith(main);
    for (const d of main.querySelectorAll("details[data-key]")) {
      if (open.includes(d.dataset.key)) d.open = true;
    }
    window.scrollTo(x, y);
    document.title = main.dataset.title;
    swapped = Date.now();
  }
  async function refresh() {
    try {
      const answer = await fetch("/api/status", {cache: "no-store"});
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      const text = await answer.text();
      if (last !== null && (text !== last || Date.now() - swapped > 60000)) await swap();
      last = text;
      live.textContent = "updated " + new Date().toLocaleTimeString();
      live.classList.remove("offline");
    } catch (error) {
      live.textContent = "cannot reach the daemon (" + error.message + "), retrying";
      live.classList.add("offline");
    }
    setTimeout(refresh, REFRESH_MS);
  }
  refresh();
})();
"""
