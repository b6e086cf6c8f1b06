// The study report: three distribution charts driven by the method/dimension/split
// controls, the metric curves, and a sortable results table. All data comes from the
// JSON block in the page; nothing is fetched.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("page-data").textContent);
  const CONFIG = { responsive: true, displaylogo: false };
  const KINDS = ["base", "diff", "both"];
  const byKey = new Map(DATA.candidates.map((c) => [c.key, c]));
  const methodSelect = document.getElementById("method-select");
  const dimSelect = document.getElementById("dim-select");
  const splitSelect = document.getElementById("split-select");

  function withTemplate(fig) {
    const layout = Object.assign({}, fig.layout, { template: DATA.template });
    return { data: fig.data, layout: layout };
  }

  function option(select, value, text) {
    const o = document.createElement("option");
    o.value = String(value);
    o.textContent = text; // textContent: labels are never parsed as HTML here
    select.appendChild(o);
  }

  function fillDims(method, split, keepDim) {
    const dims = DATA.candidates.filter((c) => c.method === method && c.split === split).map((c) => c.dim);
    const unique = Array.from(new Set(dims)).sort((a, b) => a - b);
    dimSelect.innerHTML = "";
    unique.forEach((d) => option(dimSelect, d, d + (isRecommended(method, d) ? " (recommended)" : "")));
    const keep = unique.indexOf(Number(keepDim)) >= 0 ? keepDim : unique[0];
    dimSelect.value = String(keep);
  }

  function isRecommended(method, dim) {
    return DATA.recommended && DATA.recommended.method === method && DATA.recommended.dim === Number(dim);
  }

  function currentKey() {
    return methodSelect.value + "|" + dimSelect.value + "|" + splitSelect.value;
  }

  function show(key) {
    const figures = DATA.figures[key];
    if (!figures) return Promise.resolve();
    const drawn = KINDS.map((kind) => {
      const fig = withTemplate(figures[kind]);
      return Plotly.react("chart-" + kind, fig.data, fig.layout, CONFIG);
    });
    const c = byKey.get(key);
    document.getElementById("candidate-note").textContent = isRecommended(c.method, c.dim)
      ? "Showing the recommended candidate." : "";
    const curves = DATA.curves[c.split];
    if (curves) {
      const fig = withTemplate(curves);
      drawn.push(Plotly.react("chart-curves", fig.data, fig.layout, CONFIG));
    }
    // Tests and readers of the page wait for this: the charts now show `key`.
    return Promise.all(drawn).then(() => { document.body.dataset.candidate = key; });
  }

  // Methods in candidate order: the recommended one first.
  const seen = new Set();
  DATA.candidates.forEach((c) => {
    if (!seen.has(c.method)) { seen.add(c.method); option(methodSelect, c.method, c.method_label); }
  });
  DATA.splits.forEach((s) => option(splitSelect, s, s));
  const first = byKey.get(DATA.default);
  methodSelect.value = first.method;
  splitSelect.value = first.split;
  fillDims(first.method, first.split, first.dim);

  methodSelect.addEventListener("change", () => { fillDims(methodSelect.value, splitSelect.value, dimSelect.value); show(currentKey()); });
  splitSelect.addEventListener("change", () => { fillDims(methodSelect.value, splitSelect.value, dimSelect.value); show(currentKey()); });
  dimSelect.addEventListener("change", () => show(currentKey()));
  const firstDraw = show(DATA.default);

  // Sortable table: numbers sort by their data-value, text by locale.
  document.querySelectorAll("table.results").forEach((table) => {
    const heads = Array.from(table.querySelectorAll("thead th"));
    heads.forEach((th, col) => {
      th.querySelector("button").addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const value = (row) => {
          const cell = row.cells[col];
          const v = cell.dataset.value;
          return v === undefined ? cell.textContent : (v === "" ? NaN : Number(v));
        };
        rows.sort((a, b) => {
          const x = value(a), y = value(b);
          if (typeof x === "number" && typeof y === "number") {
            if (isNaN(x)) return 1;
            if (isNaN(y)) return -1;
            return ascending ? x - y : y - x;
          }
          return ascending ? String(x).localeCompare(String(y)) : String(y).localeCompare(String(x));
        });
        rows.forEach((r) => body.appendChild(r));
      });
    });
  });
  firstDraw.then(() => { document.body.dataset.ready = "true"; });
})();
