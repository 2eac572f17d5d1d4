/* A thin wrapper around uPlot: time series with limit lines, marked points and bands. */
(function () {
  "use strict";
  const { num, locale } = window.GW;
  const COLORS = { value: "#1d4ed8", warning: "#b45309", alarm: "#b91c1c", forecast: "#7c3aed", band: "rgba(124,58,237,0.15)", flag: "#db2777", filled: "#db2777" };

  /* series: [{label, values, color, dash, points, width, band:true}] (values aligned with xs, seconds). */
  function draw(target, xs, series, existing) {
    const width = Math.max(target.clientWidth, 300);
    const opts = {
      width, height: 320,
      scales: { x: { time: true } },
      axes: [{}, { values: (u, ticks) => ticks.map((v) => num(v)) , size: 60 }],
      series: [{ value: (u, v) => v == null ? "—" : new Date(v * 1000).toLocaleString(locale) }].concat(series.map((s) => ({
        label: s.label, stroke: s.color || COLORS.value, width: s.width || 1.5, dash: s.dash,
        fill: s.fill, spanGaps: false,
        points: s.points ? { show: true, size: 7, fill: s.color, stroke: s.color } : { show: false },
        paths: s.points ? () => null : undefined,
        value: (u, v) => num(v),
      }))),
      legend: { live: true },
    };
    const data = [xs].concat(series.map((s) => s.values));
    if (existing && existing.series.length === opts.series.length) { existing.setData(data); return existing; }
    if (existing) existing.destroy();
    target.replaceChildren();
    const plot = new uPlot(opts, data, target);
    new ResizeObserver(() => plot.setSize({ width: Math.max(target.clientWidth, 300), height: 320 })).observe(target);
    return plot;
  }

  function constant(xs, value) { return value == null ? null : xs.map(() => value); }

  window.GWChart = { draw, constant, COLORS };
})();
