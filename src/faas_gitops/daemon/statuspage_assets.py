"""The status page's inline CSS and JS, kept apart from the rendering so each reads on its own.

System fonts only (no download), light and dark from the operator's own setting; status is
never colour alone: every failure also says "failed" and carries a ✕.
"""

STYLE = """
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1d232b;--muted:#6b7480;--card:#fff;
--line:#e2e5ea;--head:#eef0f3;--good:#137333;--good-bg:#e6f4ea;--bad:#b3261e;--bad-bg:#fce8e6;
--info:#1a56a8;--info-bg:#e8f0fe;--warn:#8a5300;--warn-bg:#fef3e0;--grey-bg:#eceef1}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e4e7eb;--muted:#929aa5;
--card:#181c21;--line:#2a3038;--head:#1f242b;--good:#7fd49a;--good-bg:#16301f;--bad:#ff9b92;
--bad-bg:#3a1a18;--info:#9cc0ff;--info-bg:#172640;--warn:#f5c26b;--warn-bg:#35280f;
--grey-bg:#262b33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
code{font:12.5px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.top{display:flex;align-items:baseline;gap:16px;padding:14px 24px;background:var(--card);
border-bottom:1px solid var(--line)}
.top h1{font-size:18px;margin:0;letter-spacing:.2px}
.live{color:var(--muted);font-size:12px}
.live.offline{color:var(--bad)}
main{padding:16px 24px 40px;max-width:1600px}
.facts{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 16px}
.fact{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 14px;
min-width:180px}
.fact dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.6px}
.fact dd{margin:2px 0 0;display:flex;gap:8px;align-items:center;flex-wrap:wrap}
.banner{background:var(--bad-bg);color:var(--bad);border:1px solid var(--bad);border-radius:8px;
padding:8px 14px;margin:0 0 16px;font-weight:500}
section{margin-top:20px}
h2{font-size:15px;margin:0 0 8px}
.count{color:var(--muted);font-weight:400;font-size:13px;margin-left:6px}
.bad-text{color:var(--bad)}
.scroll{overflow:auto;max-height:70vh;background:var(--card);border:1px solid var(--line);
border-radius:8px}
table{border-collapse:separate;border-spacing:0;width:100%}
th,td{padding:6px 10px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line);
white-space:nowrap}
th{position:sticky;top:0;z-index:1;background:var(--head);font-size:12px;color:var(--muted);
font-weight:600}
tbody tr:last-child td{border-bottom:0}
tbody tr:hover td{background:color-mix(in srgb,var(--head) 60%,transparent)}
tr.failing td{background:var(--bad-bg)}
tr.failing td:first-child{box-shadow:inset 3px 0 0 var(--bad)}
td.path{font-weight:600}
td.error{white-space:normal;min-width:200px;max-width:480px;color:var(--bad)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th.env,td.env{border-left:1px solid var(--line)}
.muted{color:var(--muted)}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;
background:var(--grey-bg);color:var(--muted)}
.pill-created,.pill-deployed,.pill-in-sync{background:var(--good-bg);color:var(--good)}
.pill-adopted,.pill-pruned,.pill-promoted,.pill-rolled-back,.pill-removed{background:var(--info-bg);color:var(--info)}
.pill-would-create,.pill-would-deploy,.pill-frozen{background:var(--warn-bg);color:var(--warn)}
.pill-bad{background:var(--bad-bg);color:var(--bad);border:1px solid var(--bad)}
"""

#: Re-fetches the page's ``<main>`` and swaps it in; on failure says so and keeps the last view.
#: ``REFRESH_MS`` is defined by the page just before this text.
SCRIPT = """
(() => {
  const live = document.getElementById("live");
  async function refresh() {
    try {
      const answer = await fetch("?part=main", {cache: "no-store"});
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      const template = document.createElement("template");
      template.innerHTML = await answer.text();
      const main = template.content.getElementById("app");
      if (!main) throw new Error("unexpected answer");
      document.getElementById("app").replaceWith(main);
      document.title = main.dataset.title;
      live.textContent = "updated " + new Date().toLocaleTimeString();
      live.classList.remove("offline");
    } catch (error) {
      live.textContent = "cannot reach the daemon (" + error.message + "), retrying";
      live.classList.add("offline");
    }
    setTimeout(refresh, REFRESH_MS);
  }
  setTimeout(refresh, REFRESH_MS);
})();
"""
