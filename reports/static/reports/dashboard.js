// Draws the dashboard's charts (templates/admin/dashboard.html) with the vendored Chart.js.
// The data is the page's json_script block (#dashboard-data), never an inline script: the
// admin's Content-Security-Policy allows scripts from this site only. Each chart's table stays
// below it: without this file the page still shows every figure.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var language = document.documentElement.lang || "vi";
  var numbers = new Intl.NumberFormat(language === "vi" ? "vi-VN" : "en-GB", { maximumFractionDigits: 0 });
  var colours = ["#2e7d6b", "#e0a030", "#7b5ea7", "#c0504d"];
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var theme = document.documentElement.dataset.theme;
  if (theme === "dark" || theme === "light") {
    dark = theme === "dark";
  }
  Chart.defaults.color = dark ? "#eeeeee" : "#333333";
  Chart.defaults.borderColor = dark ? "#444444" : "#dddddd";

  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var chart = data[canvas.dataset.chart];
    if (!chart) {
      return;
    }
    var line = chart.type === "line";
    new Chart(canvas, {
      type: chart.type,
      data: {
        labels: chart.labels,
        datasets: chart.series.map(function (series, index) {
          var colour = colours[index % colours.length];
          return {
            label: series.name,
            data: series.values,
            backgroundColor: line ? colour + "33" : colour,
            borderColor: colour,
            borderWidth: line ? 2 : 0,
            pointRadius: chart.labels.length > 60 ? 0 : 2,
            tension: 0,
          };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { display: chart.series.length > 1 },
          tooltip: {
            callbacks: {
              label: function (item) {
                return item.dataset.label + ": " + numbers.format(item.parsed.y);
              },
            },
          },
        },
        scales: {
          x: { stacked: chart.stacked, ticks: { autoSkip: true, maxRotation: 0 } },
          y: {
            stacked: chart.stacked,
            beginAtZero: true,
            ticks: {
              precision: 0,
              callback: function (value) {
                return numbers.format(value);
              },
            },
          },
        },
      },
    });
  });
})();
