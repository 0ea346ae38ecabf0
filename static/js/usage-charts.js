/* Usage charts (Chart.js 4, vendored): daily trend with a metric selector, tokens per model per day
 * (stacked) and the cost distribution by model (donut). Data comes from the page's JSON block
 * #usage-chart-data; every chart has a table alternative on the page, so nothing depends on this script. */
(function () {
  "use strict";

  function palette(i) {
    var colours = ["#0066cc", "#4cb140", "#f4c145", "#ec7a08", "#a18fff", "#009596", "#c9190b", "#8bc1f7", "#5752d1", "#6a6e73"];
    return colours[i % colours.length];
  }

  function init() {
    var node = document.getElementById("usage-chart-data");
    if (!node || typeof window.Chart === "undefined") { return; }
    var data = JSON.parse(node.textContent);
    var metricSelect = document.querySelector("[data-usage-metric]");
    var dailyCanvas = document.getElementById("usage-daily-chart");
    var daily = null;
    if (dailyCanvas) {
      daily = new window.Chart(dailyCanvas, {
        type: "line",
        data: { labels: data.labels, datasets: [{ label: metricSelect ? metricSelect.options[metricSelect.selectedIndex].text : "", data: data.daily.requests, borderColor: palette(0), backgroundColor: palette(0), tension: 0.2 }] },
        options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { display: false } } }
      });
    }
    if (metricSelect && daily) {
      metricSelect.addEventListener("change", function () {
        daily.data.datasets[0].data = data.daily[metricSelect.value] || [];
        daily.data.datasets[0].label = metricSelect.options[metricSelect.selectedIndex].text;
        daily.update();
      });
    }
    var modelCanvas = document.getElementById("usage-model-chart");
    if (modelCanvas) {
      new window.Chart(modelCanvas, {
        type: "bar",
        data: { labels: data.labels, datasets: data.per_model.map(function (s, i) { return { label: s.label, data: s.data, backgroundColor: palette(i) }; }) },
        options: { responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
      });
    }
    var donutCanvas = document.getElementById("usage-donut-chart");
    if (donutCanvas) {
      new window.Chart(donutCanvas, {
        type: "doughnut",
        data: { labels: data.distribution.map(function (d) { return d.label; }), datasets: [{ data: data.distribution.map(function (d) { return d.value; }), backgroundColor: data.distribution.map(function (_d, i) { return palette(i); }) }] },
        options: { responsive: true, maintainAspectRatio: false, plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.label + ": " + ctx.parsed.toFixed(4) + " " + data.currency; } } } } }
      });
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
