// Sentence maps: one Plotly scatter per method. Labels and neighbour lists are held once
// in the page data and shared by every map's hover text.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("page-data").textContent);
  const CONFIG = { responsive: true, displaylogo: false };
  const labels = DATA.labels; // already HTML-escaped by the writer

  const hover = labels.map((label, i) => {
    const lines = DATA.neighbours[i].map(
      (j, r) => (r + 1) + ". " + labels[j] + " (" + DATA.sims[i][r].toFixed(3) + ")"
    );
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
