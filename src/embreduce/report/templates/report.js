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

  // The size control lists every dimension x precision of the method: value "dim|bits".
  function fillDims(method, split, keepSize) {
    const sizes = DATA.candidates.filter((c) => c.method === method && c.split === split);
    sizes.sort((a, b) => a.dim - b.dim || b.bits - a.bits);
    dimSelect.innerHTML = "";
    sizes.forEach((c) => option(dimSelect, c.dim + "|" + c.bits,
      c.dim + "-d · " + c.bits + " bit (" + c.bytes.toLocaleString("en") + " B)"
      + (c.recommended ? " (recommended)" : "")));
    const values = sizes.map((c) => c.dim + "|" + c.bits);
    dimSelect.value = values.indexOf(keepSize) >= 0 ? keepSize : values[0];
  }

  function currentKey() {
    return methodSelect.value + "|" + dimSelect.value + "|" + splitSelect.value;
  }

  // A candidate's chart: its split's frame with the candidate's traces, subtitle, range.
  function figureOf(key, kind) {
    const own = DATA.figures[key];
    const patch = kind !== "both" ? own[kind] : Object.assign(
      { traces: own.base.traces.concat(own.diff.traces) }, own.both);
    const frame = DATA.frames[byKey.get(key).split][kind];
    const data = frame.data.map((trace, i) =>
      Object.assign({}, trace, patch.traces[i] || {}));
    const layout = JSON.parse(JSON.stringify(frame.layout));
    layout.title.subtitle.text = patch.subtitle;
    layout.xaxis.range = patch.range;
    return withTemplate({ data: data, layout: layout });
  }

  function show(key) {
    if (!DATA.figures[key]) return Promise.resolve();
    const drawn = KINDS.map((kind) => {
      const fig = figureOf(key, kind);
      return Plotly.react("chart-" + kind, fig.data, fig.layout, CONFIG);
    });
    const c = byKey.get(key);
    document.getElementById("candidate-note").textContent = c.recommended
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
  fillDims(first.method, first.split, first.dim + "|" + first.bits);

  methodSelect.addEventListener("change", () => { fillDims(methodSelect.value, splitSelect.value, dimSelect.value); show(currentKey()); });
  splitSelect.addEventListener("change", () => { fillDims(methodSelect.value, splitSelect.value, dimSelect.value); show(currentKey()); });
  dimSelect.addEventListener("change", () => show(currentKey()));
  const bytesFig = withTemplate(DATA.bytes);
  const firstDraw = Promise.all([
    show(DATA.default),
    Plotly.newPlot("chart-bytes", bytesFig.data, bytesFig.layout, CONFIG),
  ]);

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
