// Draws the dashboard's charts from the JSON the page carries (Chart.js, served locally).
// Money series are integer minor units; the axis and tooltips divide by the currency's scale.
(function () {
  "use strict";
  var source = document.getElementById("chart-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#0645ad", "#b3541e", "#2e7d32", "#6a1b9a", "#c2185b", "#00838f", "#5d4037",
                 "#455a64", "#9e7700", "#1565c0", "#ad1457", "#4e342e"];
  var money = function (minor) {
    return (minor / data.scale).toLocaleString(undefined, {maximumFractionDigits: 2});
  };
  window.hazinaCharts = {};
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var name = canvas.dataset.chart;
    var chart = data.charts[name];
    if (!chart) { return; }
    var isMoney = canvas.dataset.kind === "money";
    var names = Object.keys(chart.series);
    var stacked = names.length > 1;
    var line = name === "volume" || name === "value" || name === "fees" || name === "wallets";
    var datasets = names.map(function (series, index) {
      var colour = palette[index % palette.length];
      return {label: series, data: chart.series[series], backgroundColor: colour,
              borderColor: colour, fill: false, tension: 0.2};
    });
    if (name === "floats") {
      datasets[0].backgroundColor = chart.series.float.map(function (value) {
        return value < chart.threshold ? "#a4000f" : "#2e7d32";
      });
    }
    window.hazinaCharts[name] = new Chart(canvas, {
      type: line ? "line" : "bar",
      data: {labels: chart.labels, datasets: datasets},
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: {legend: {display: names.length > 1},
                  tooltip: {callbacks: {label: function (item) {
                    var value = isMoney ? data.currency + " " + money(item.raw) : item.raw;
                    return item.dataset.label + ": " + value;
                  }}}},
        scales: {x: {stacked: stacked && !line, ticks: {maxTicksLimit: 12}},
                 y: {stacked: stacked && !line, beginAtZero: true,
                     ticks: {callback: function (value) { return isMoney ? money(value) : value; }}}}
      }
    });
  });
})();
