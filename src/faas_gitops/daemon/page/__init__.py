"""The daemon's status pages: ``model`` (what is shown, and the word for each cell), ``render``
(the status page's ``<main>``), ``package`` (``/packages/<path>``), ``document`` (``/api/status``),
``shell`` (the HTML document and its CSP), ``assets`` (CSS/JS), ``plans`` (pending diffs)."""
