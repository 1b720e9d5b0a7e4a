// Draws the dashboard's charts from the JSON the page carries (#dashboard-charts).
// Each bar, slice or point is a link: a click opens the ticket list it counts. The same
// numbers and links are in the table under each chart, for keyboards and screen readers.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  // Okabe–Ito: told apart by people with the common colour-vision deficiencies.
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"];
  var narrow = window.matchMedia("(max-width: 575.98px)").matches;

  function follow(links) {
    return function (event, elements) {
      if (!elements.length) {
        return;
      }
      var hit = elements[0];
      var target = Array.isArray(links[0]) ? links[hit.datasetIndex][hit.index] : links[hit.index];
      if (target) {
        window.location.assign(target);
      }
    };
  }

  function hover(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  function options(extra) {
    var base = {
      animation: false,
      responsive: true,
      aspectRatio: narrow ? 1.2 : 2,
      onHover: hover,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    };
    return Object.assign(base, extra || {});
  }

  function bars(canvas, spec, horizontal) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{ label: "Tickets", data: spec.values, backgroundColor: COLOURS[0] }]
      },
      options: options({
        indexAxis: horizontal ? "y" : "x",
        onClick: follow(spec.links),
        scales: horizontal
          ? { x: { beginAtZero: true, ticks: { precision: 0 } } }
          : { y: { beginAtZero: true, ticks: { precision: 0 } } }
      })
    });
  }

  function doughnut(canvas, spec) {
    return new Chart(canvas, {
      type: "doughnut",
      data: {
        labels: spec.labels,
        datasets: [{ label: "Tickets", data: spec.values, backgroundColor: COLOURS.slice(0, spec.values.length) }]
      },
      options: options({
        aspectRatio: narrow ? 1.2 : 2,
        onClick: follow(spec.links),
        plugins: { legend: { display: true, position: "bottom" } },
        scales: {}
      })
    });
  }

  function grouped(canvas, spec) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, i) {
          return { label: series.label, data: series.values, backgroundColor: COLOURS[i] };
        })
      },
      options: options({
        onClick: follow(spec.labels.map(function (_, i) { return spec.links[i]; })),
        plugins: { legend: { display: true, position: "bottom" } },
        scales: { y: { beginAtZero: true, title: { display: true, text: "hours" } } }
      })
    });
  }

  function stacked(canvas, spec) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (series, i) {
          return { label: series.label, data: series.values, backgroundColor: COLOURS[i % COLOURS.length] };
        })
      },
      options: options({
        onClick: follow(spec.series.map(function (series) { return series.links; })),
        plugins: { legend: { display: true, position: "bottom" } },
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }
        }
      })
    });
  }

  var DRAW = {
    bar: function (canvas, spec) { return bars(canvas, spec, false); },
    hbar: function (canvas, spec) { return bars(canvas, spec, true); },
    doughnut: doughnut,
    grouped: grouped,
    stacked: stacked
  };

  function empty(spec) {
    if (spec.series) {
      return !spec.series.some(function (series) {
        return series.values.some(function (value) { return value; });
      });
    }
    return !spec.values.some(function (value) { return value; });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var spec = data[canvas.dataset.chart];
    var draw = DRAW[canvas.dataset.kind];
    if (spec && empty(spec)) {
      // Nothing to draw: the table under it says "None".
      canvas.closest("figure").hidden = true;
      canvas.dataset.drawn = "empty";
    } else if (spec && draw) {
      canvas.chart = draw(canvas, spec);
      canvas.dataset.drawn = "true";
    }
  });
})();
