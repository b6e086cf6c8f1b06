// Sentence maps: one Plotly scatter per method. Labels and neighbour lists are held once
// in the page data and shared by every map's hover text.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("page-data").textContent);
  const CONFIG = { responsive: true, displaylogo: false };
  const labels = DATA.labels; // already HTML-escaped by the writer

  // Neighbour lists arrive as base64 arrays: int32 indices, int16 cosines x 10,000.
  function decode(text, Type) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return new Type(bytes.buffer);
  }
  const K = DATA.k;
  const neighbours = decode(DATA.neighbours, Int32Array);
  const sims = decode(DATA.sims, Int16Array);

  const hover = labels.map((label, i) => {
    const lines = [];
    for (let r = 0; r < K; r++) {
      const j = neighbours[i * K + r];
      lines.push((r + 1) + ". " + labels[j] + " (" + (sims[i * K + r] / 10000).toFixed(3) + ")");
    }
    return "<b>" + label + "</b><br><i>nearest in the original space:</i><br>" + lines.join("<br>");
  });

  function withHover(fig) {
    fig.data.forEach((trace, t) => {
      trace.hovertext = DATA.groups ? DATA.groups[t].map((i) => hover[i]) : hover;
    });
    fig.layout.template = DATA.template;
    return fig;
  }

  const grid = document.getElementById("map-grid");
  // Every map's box first, so the grid has its final columns before Plotly measures.
  const divs = DATA.maps.map((m) => {
    const div = document.createElement("div");
    div.className = "chart";
    div.id = m.id;
    grid.appendChild(div);
    return div;
  });
  const drawn = DATA.maps.map((m, i) => {
    const fig = withHover(m.figure);
    return Plotly.newPlot(divs[i], fig.data, fig.layout, CONFIG);
  });
  if (DATA.heatmap) {
    DATA.heatmap.layout.template = DATA.template;
    drawn.push(Plotly.newPlot("heatmap", DATA.heatmap.data, DATA.heatmap.layout, CONFIG));
  }
  Promise.all(drawn).then(() => { document.body.dataset.ready = "true"; });
})();
