/* The charts of a statistics screen (engine/stats.html): each .stat-chart carries its numbers
   (labels, values, and the list address of each); a click on a bar, slice or point opens that
   list; 导出图片 saves the chart as PNG. */
(function ($, echarts) {
  "use strict";
  if (!echarts) { return; }
  var charts = [];

  // long names or many of them: slanted, cut with … (the whole name is in the tooltip and the
  // table under the chart)
  function slanted(d) {
    var longest = Math.max.apply(null, d.labels.map(function (l) { return l.length; }));
    return d.labels.length > 6 || longest * d.labels.length > 28;
  }

  function option(d) {
    var tooltip = { trigger: d.kind === "pie" ? "item" : "axis" };
    if (d.kind === "pie") {
      return {
        tooltip: tooltip, legend: { type: "scroll", bottom: 0 },
        series: [{ type: "pie", radius: ["35%", "65%"], name: d.name,
          data: d.labels.map(function (l, i) { return { name: l, value: d.values[i] }; }),
          label: { formatter: "{b}: {c} ({d}%)" } }]
      };
    }
    return {
      tooltip: tooltip, grid: { left: 48, right: 24, top: 24, bottom: 72 },
      xAxis: { type: "category", data: d.labels, axisLabel: {
        interval: 0, rotate: slanted(d) ? 30 : 0, width: slanted(d) ? 110 : 90, overflow: "truncate" } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: d.kind === "line" ? "line" : "bar", name: d.name, data: d.values,
        barMaxWidth: 48, label: { show: d.kind !== "line", position: "top" } }]
    };
  }

  $(".stat-chart").each(function () {
    var el = this, d = $(el).data("chart");
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(d));
    chart.on("click", function (p) {
      var link = d.links[p.dataIndex];
      if (link && d.values[p.dataIndex]) { window.location.href = link; }
    });
    el.engineChart = chart;
    charts.push(chart);
  });
  $(window).on("resize", function () { charts.forEach(function (c) { c.resize(); }); });

  $(document).on("click", ".js-chart-png", function () {
    var el = $(this).closest(".stat-panel").find(".stat-chart").get(0);
    if (!el || !el.engineChart) { return; }
    var a = document.createElement("a");
    a.href = el.engineChart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
    a.download = $(this).data("filename");
    document.body.appendChild(a); a.click(); a.remove();
  });
})(window.jQuery, window.echarts);
