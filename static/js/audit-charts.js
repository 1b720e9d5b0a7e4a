// Draws the suppression audit's charts from the numbers the page also shows as tables.
(function () {
  "use strict";
  var source = document.getElementById("audit-chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  function bar(id, rows) {
    var canvas = document.getElementById(id);
    if (!canvas || !rows.length) {
      return;
    }
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r[0]; }),
        datasets: [{ label: "Addresses", data: rows.map(function (r) { return r[1]; }) }]
      },
      options: { indexAxis: "y", animation: false, plugins: { legend: { display: false } } }
    });
  }
  bar("chart-causes", data.causes);
  bar("chart-states", data.states);
  bar("chart-gateways", data.gateways);
})();
