/* p13n console: draws the charts (uPlot) from each .plot element's data-chart JSON and sends
   the session's CSRF token with htmx requests. No inline script anywhere (CSP script-src 'self'). */
(function () {
  "use strict";
  var COLORS = ["#1f5fbf", "#e8772e", "#2a9d5c", "#b42318", "#7a4fbf", "#6b7280", "#c2410c", "#0e7490"];

  function draw(el) {
    if (el.dataset.drawn || typeof uPlot === "undefined") return;
    var chart = JSON.parse(el.dataset.chart);
    var data = [chart.x].concat(chart.series.map(function (s) { return s.values; }));
    var series = [{}].concat(chart.series.map(function (s, i) {
      var dashed = /p99$/.test(s.label);
      return { label: s.label, stroke: COLORS[Math.floor(i / (chart.id === "timings" ? 2 : 1)) % COLORS.length],
               width: 2, dash: dashed ? [6, 4] : undefined, spanGaps: false, points: { show: chart.x.length < 40 } };
    }));
    var width = Math.max(280, el.clientWidth || 600);
    var plot = new uPlot({
      width: width, height: width < 500 ? 200 : 240, series: series,
      axes: [{}, { label: chart.unit, size: 60 }],
      scales: { x: { time: true } }, cursor: { drag: { x: false } }, legend: { live: true }
    }, data, el);
    el.dataset.drawn = "1";
    el._plot = plot;
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".plot[data-chart]").forEach(draw);
  }

  function resize() {
    document.querySelectorAll(".plot[data-chart]").forEach(function (el) {
      if (el._plot) { var w = Math.max(280, el.clientWidth); el._plot.setSize({ width: w, height: w < 500 ? 200 : 240 }); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
  document.addEventListener("htmx:configRequest", function (e) {
    var token = document.body.dataset.csrf;
    if (token) e.detail.headers["X-CSRF-Token"] = token;
  });
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(resize, 150); });
})();
