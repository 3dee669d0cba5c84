/* curator dashboard: reads the JSON API under /api, draws the charts with Chart.js (vendored), and drives
 * the review queue. Plain JavaScript, no build step. Everything the server sends is put on the page as text
 * (textContent), never as HTML. */
(() => {
  "use strict";

  const CONFIG = JSON.parse(document.getElementById("dashboard-config").textContent);
  const REFRESH_MS = 15000;
  const PAGE_SIZE = 20;
  const COLORS = {
    keep: "#4e79a7",
    drop: "#e15759",
    review: "#f28e2b",
    slate: "#59708f",
    grid: "#eef1f4",
    muted: "#656d76",
    metrics: ["#4e79a7", "#59a14f", "#b07aa1"],
  };
  const METRICS = [
    ["mean_nn_distance", "mean NN distance"],
    ["cluster_entropy", "cluster entropy"],
    ["distinct_3", "distinct 3-grams"],
  ];
  const METRIC_NAMES = Object.fromEntries(METRICS);
  const STORE = {
    bucket: "curator.dashboard.bucket",
    reviewer: "curator.dashboard.reviewer",
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    stats: null,
    bias: null,
    coverage: null,
    collectionInfo: null,
    bucketSeconds: 3600,
    cursor: null,
    topId: 0,
    refreshes: 0,
    errorFrom: null,
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const intFmt = new Intl.NumberFormat("en-US");
  const fmtInt = (n) => (n === null || n === undefined ? "–" : intFmt.format(n));
  const fmtPct = (x, digits = 1) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`);
  const fmtNum = (x, digits = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  });

  function bucketLabel(date, seconds, spansDays) {
    if (seconds >= 86400) return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
    if (seconds >= 3600 || spansDays) return dateTimeFmt.format(date);
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }

  function setText(id, text) {
    const node = $(id);
    if (node) node.textContent = text;
  }

  // ------------------------------------------------------------------ API and errors

  class ApiError extends Error {
    constructor(status, body, fallback) {
      super((body && body.error) || fallback || `HTTP ${status}`);
      this.status = status;
      this.violations = (body && body.field_violations) || [];
    }
  }

  async function api(path, params = {}, init = {}) {
    const url = new URL(path, window.location.origin);
    for (const [key, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    let response;
    try {
      response = await fetch(url, {
        credentials: "same-origin",
        ...init,
        headers: { Accept: "application/json", ...(init.headers || {}) },
      });
    } catch (err) {
      throw new ApiError(0, null, `could not reach the curator server (${err.message})`);
    }
    if (response.status === 401 && CONFIG.auth) {
      window.location.assign("/login");
      throw new ApiError(401, null, "signed out: sign in again");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) throw new ApiError(response.status, body, `${response.status} ${response.statusText}`);
    return body;
  }

  function showError(err, from) {
    const box = $("error");
    setText("error-text", err instanceof ApiError || err instanceof Error ? err.message : String(err));
    const list = $("error-fields");
    list.replaceChildren(
      ...((err && err.violations) || []).map((v) => el("li", {}, el("code", { text: v.field }), `: ${v.description}`)),
    );
    box.hidden = false;
    state.errorFrom = from;
    if (!(err instanceof ApiError)) console.error(err); // a bug on this page, not an API answer
  }

  function clearError(from) {
    if (from === undefined || state.errorFrom === from) {
      $("error").hidden = true;
      state.errorFrom = null;
    }
  }

  // ------------------------------------------------------------------ charts

  function setupChartDefaults() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = COLORS.muted;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.boxHeight = 12;
    Chart.defaults.scale.grid.color = COLORS.grid;
    if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;
    else Chart.defaults.animation.duration = 300;
    Chart.register(refLinesPlugin, bandsPlugin);
  }

  // Dashed reference lines across a chart: options.plugins.refLines = {lines: [{value, axis, color, label}]}.
  const refLinesPlugin = {
    id: "refLines",
    afterDatasetsDraw(chart, _args, opts) {
      const lines = opts && opts.lines;
      if (!lines || !lines.length) return;
      const { ctx, chartArea: area } = chart;
      ctx.save();
      for (const line of lines) {
        const scale = chart.scales[line.axis || "x"];
        if (!scale || line.value === null || line.value === undefined) continue;
        const at = scale.getPixelForValue(line.value);
        ctx.strokeStyle = line.color || "#1f2328";
        ctx.lineWidth = 1.5;
        ctx.setLineDash(line.dash || [5, 4]);
        ctx.beginPath();
        if (scale.isHorizontal()) {
          ctx.moveTo(at, area.top);
          ctx.lineTo(at, area.bottom);
        } else {
          ctx.moveTo(area.left, at);
          ctx.lineTo(area.right, at);
        }
        ctx.stroke();
        if (line.label) {
          ctx.setLineDash([]);
          ctx.fillStyle = line.color || "#1f2328";
          ctx.font = `11px ${Chart.defaults.font.family}`;
          if (scale.isHorizontal()) {
            ctx.textAlign = "left";
            ctx.fillText(line.label, at + 3, area.top - 4);
          } else {
            ctx.textAlign = "right";
            ctx.fillText(line.label, area.right - 4, at - 4);
          }
        }
      }
      ctx.restore();
    },
  };

  // Shades category columns: options.plugins.bands = {indices: [..], color}.
  const bandsPlugin = {
    id: "bands",
    beforeDatasetsDraw(chart, _args, opts) {
      if (!opts || !opts.indices || !opts.indices.length) return;
      const x = chart.scales.x;
      const { ctx, chartArea: area } = chart;
      const n = chart.data.labels.length;
      const width = n > 1 ? Math.abs(x.getPixelForValue(1) - x.getPixelForValue(0)) : area.right - area.left;
      ctx.save();
      ctx.fillStyle = opts.color || "rgba(225, 87, 89, 0.12)";
      for (const i of opts.indices) {
        const center = x.getPixelForValue(i);
        const left = Math.max(area.left, center - width / 2);
        const right = Math.min(area.right, center + width / 2);
        ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      }
      ctx.restore();
    },
  };

  /** Draws (or updates) the chart on canvas ``id``; a null config shows the canvas's placeholder instead. */
  function draw(id, config) {
    const canvas = $(id);
    if (!canvas) return null;
    const placeholder = document.querySelector(`.placeholder[data-for="${id}"]`);
    let chart = Chart.getChart(canvas);
    if (!config) {
      if (chart) chart.destroy();
      canvas.parentElement.hidden = true;
      if (placeholder) placeholder.hidden = false;
      return null;
    }
    canvas.parentElement.hidden = false;
    if (placeholder) placeholder.hidden = true;
    if (chart && chart.config.type === config.type) {
      chart.data = config.data;
      chart.options = config.options;
      chart.update("none");
    } else {
      if (chart) chart.destroy();
      chart = new Chart(canvas, config);
    }
    return chart;
  }

  const alpha = (hex, a) => {
    const v = parseInt(hex.slice(1), 16);
    return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${a})`;
  };

  const percentAxis = (extra = {}) => ({
    beginAtZero: true,
    ticks: { callback: (v) => `${Math.round(v * 1000) / 10}%` },
    ...extra,
  });

  // ------------------------------------------------------------------ stats: KPIs and charts

  function autoBucket() {
    const created = state.collectionInfo ? Date.parse(state.collectionInfo.created_at) : NaN;
    const span = Number.isFinite(created) ? (Date.now() - created) / 1000 : 86400;
    if (span <= 3 * 3600) return 60;
    if (span <= 7 * 86400) return 3600;
    return 86400;
  }

  function chosenBucket() {
    const choice = $("bucket-select").value;
    return choice === "auto" ? autoBucket() : Number(choice);
  }

  async function refreshStats() {
    state.bucketSeconds = chosenBucket();
    const stats = await api("/api/stats", { collection: CONFIG.collection, bucket_seconds: state.bucketSeconds });
    state.stats = stats;
    renderKpis(stats);
    renderRejection(stats);
    renderReasons(stats);
    for (const key of CONFIG.group_keys) renderGroup(stats, key);
    renderDiversity(stats);
    fillFilterOptions(stats);
    $("empty-decisions").hidden = stats.totals.total > 0;
    document.body.dataset.statsTotal = String(stats.totals.total);
  }

  function renderKpis(stats) {
    const t = stats.totals;
    setText("kpi-total", fmtInt(t.total));
    setText("kpi-keep", fmtInt(t.keep));
    setText("kpi-drop", fmtInt(t.drop));
    setText("kpi-drop-rate", fmtPct(t.drop_rate));
    setText("kpi-review-pending", fmtInt(stats.reviews.pending));
    setText("kpi-review-approved", fmtInt(stats.reviews.approved));
    setText("kpi-review-rejected", fmtInt(stats.reviews.rejected));
    for (const [id, value] of [
      ["kpi-total", t.total], ["kpi-keep", t.keep], ["kpi-drop", t.drop],
      ["kpi-review-pending", stats.reviews.pending], ["kpi-review-approved", stats.reviews.approved],
      ["kpi-review-rejected", stats.reviews.rejected],
    ]) $(id).dataset.value = String(value);
    $("kpi-drop-rate").dataset.value = t.drop_rate === null ? "" : String(t.drop_rate);
    $("open-queue").hidden = !stats.reviews.pending;
  }

  /** The series with empty buckets filled in (up to 2,000 buckets), so gaps show as gaps. */
  function filledSeries(stats) {
    const step = stats.bucket_seconds * 1000;
    const points = stats.series.map((p) => ({ ...p, at: Date.parse(p.start) }));
    if (points.length < 2) return points;
    const first = points[0].at;
    const last = points[points.length - 1].at;
    if ((last - first) / step > 2000) return points;
    const byTime = new Map(points.map((p) => [p.at, p]));
    const out = [];
    for (let at = first; at <= last; at += step) {
      out.push(byTime.get(at) || {
        at, start: new Date(at).toISOString(), keep: 0, drop: 0, review: 0, total: 0, drop_rate: null, review_rate: null,
      });
    }
    return out;
  }

  function renderRejection(stats) {
    const series = filledSeries(stats);
    if (!series.length) return draw("chart-rejection", null);
    const spansDays = series.length > 1 && series[series.length - 1].at - series[0].at >= 86400000;
    const labels = series.map((p) => bucketLabel(new Date(p.at), stats.bucket_seconds, spansDays));
    const dots = series.length <= 60 ? 3 : 0;
    const line = (label, key, color) => ({
      type: "line", label, data: series.map((p) => p[key]), yAxisID: "rate", borderColor: color,
      backgroundColor: color, pointRadius: dots, borderWidth: 2, tension: 0, spanGaps: false, order: 0,
    });
    const bar = (label, key, color) => ({
      type: "bar", label, data: series.map((p) => p[key]), yAxisID: "count", stack: "verdicts",
      backgroundColor: alpha(color, 0.28), borderColor: alpha(color, 0.5), borderWidth: 1, order: 1, maxBarThickness: 64,
    });
    draw("chart-rejection", {
      type: "bar",
      data: {
        labels,
        datasets: [
          line("drop rate", "drop_rate", COLORS.drop),
          line("review rate", "review_rate", COLORS.review),
          bar("kept", "keep", COLORS.keep),
          bar("dropped", "drop", COLORS.drop),
          bar("review", "review", COLORS.review),
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          count: { type: "linear", position: "left", stacked: true, beginAtZero: true, title: { display: true, text: "decisions" } },
          rate: percentAxis({ type: "linear", position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "rate" } }),
        },
        plugins: {
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? new Date(series[items[0].dataIndex].at).toLocaleString() : ""),
              label: (item) => (item.dataset.yAxisID === "rate"
                ? `${item.dataset.label}: ${fmtPct(item.raw)}`
                : `${item.dataset.label}: ${fmtInt(item.raw)}`),
            },
          },
        },
      },
    });
  }

  function renderReasons(stats) {
    const entries = Object.entries(stats.by_reason).slice(0, 15);
    if (!entries.length) return draw("chart-reasons", null);
    const total = stats.totals.total;
    const canvas = $("chart-reasons");
    canvas.parentElement.style.height = `${Math.max(160, 34 + entries.length * 26)}px`;
    draw("chart-reasons", {
      type: "bar",
      data: {
        labels: entries.map(([code]) => code),
        datasets: [{
          label: "decisions", data: entries.map(([, n]) => n), backgroundColor: alpha(COLORS.slate, 0.8),
          borderRadius: 3, maxBarThickness: 22,
        }],
      },
      options: {
        indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${fmtInt(item.raw)} decisions (${fmtPct(total ? item.raw / total : null)} of all)` } },
        },
        onClick: (_event, elements) => {
          if (!elements.length) return;
          setFilters({ verdict: "", reason: entries[elements[0].index][0] });
        },
        onHover: pointerOnBars,
      },
    });
  }

  function pointerOnBars(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  function renderGroup(stats, key) {
    const groups = (stats.by_group && stats.by_group[key]) || {};
    const rows = Object.entries(groups)
      .sort((a, b) => b[1].total - a[1].total || a[0].localeCompare(b[0]))
      .slice(0, 15);
    const id = `chart-group-${key}`;
    if (!rows.length || (rows.length === 1 && rows[0][0] === "")) return draw(id, null);
    $(id).parentElement.style.height = `${Math.max(160, 60 + rows.length * 28)}px`;
    const name = (value) => (value === "" ? `(no ${key})` : value);
    const dataset = (label, verdict, color) => ({
      label, data: rows.map(([, c]) => c[verdict]), backgroundColor: alpha(color, 0.85), stack: "v", maxBarThickness: 22,
    });
    draw(id, {
      type: "bar",
      data: {
        labels: rows.map(([value, c]) => `${name(value)} · ${fmtPct(c.drop_rate, 0)} drop`),
        datasets: [dataset("kept", "keep", COLORS.keep), dataset("dropped", "drop", COLORS.drop), dataset("review", "review", COLORS.review)],
      },
      options: {
        indexAxis: "y",
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          y: { stacked: true, grid: { display: false } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? name(rows[items[0].dataIndex][0]) : ""),
              footer: (items) => {
                if (!items.length) return "";
                const c = rows[items[0].dataIndex][1];
                return `${fmtInt(c.total)} decisions · drop ${fmtPct(c.drop_rate)} · review ${fmtPct(c.review_rate)}`;
              },
            },
          },
        },
        onClick: (_event, elements) => {
          if (!elements.length) return;
          const value = rows[elements[0].index][0];
          if (value !== "") setFilters({ verdict: "not_kept", meta: JSON.stringify([key, value]) });
        },
        onHover: pointerOnBars,
      },
    });
  }

  function renderDiversity(stats) {
    const windows = (stats.diversity || []).filter((w) => w.group === "");
    const list = $("collapse-list");
    if (!windows.length) {
      list.hidden = true;
      return draw("chart-diversity", null);
    }
    const spansDays = windows.length > 1
      && Date.parse(windows[windows.length - 1].start) - Date.parse(windows[0].start) >= 86400000;
    const labels = windows.map((w) => bucketLabel(new Date(w.start), stats.bucket_seconds, spansDays));
    const collapsedAt = windows.map((w, i) => (w.collapsed.length ? i : -1)).filter((i) => i >= 0);
    const datasets = METRICS.map(([metric, label], k) => ({
      type: "line",
      label,
      data: windows.map((w) => w[metric]),
      yAxisID: "y",
      borderColor: COLORS.metrics[k],
      backgroundColor: COLORS.metrics[k],
      borderWidth: 2,
      tension: 0.2,
      pointRadius: windows.map((w) => (w.collapsed.includes(metric) ? 7 : windows.length <= 60 ? 3 : 0)),
      pointStyle: windows.map((w) => (w.collapsed.includes(metric) ? "triangle" : "circle")),
      pointBackgroundColor: windows.map((w) => (w.collapsed.includes(metric) ? COLORS.drop : COLORS.metrics[k])),
      order: 0,
    }));
    datasets.push({
      type: "bar", label: "kept samples", data: windows.map((w) => w.kept), yAxisID: "kept",
      backgroundColor: "rgba(101, 109, 118, 0.15)", order: 1, maxBarThickness: 64,
    });
    draw("chart-diversity", {
      type: "bar",
      data: { labels, datasets },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { type: "linear", position: "left", beginAtZero: true, suggestedMax: 1, title: { display: true, text: "metric" } },
          kept: { type: "linear", position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 }, title: { display: true, text: "kept" } },
        },
        plugins: {
          bands: { indices: collapsedAt },
          tooltip: {
            callbacks: {
              label: (item) => (item.dataset.yAxisID === "kept"
                ? `kept samples: ${fmtInt(item.raw)}`
                : `${item.dataset.label}: ${fmtNum(item.raw)}`),
              footer: (items) => {
                if (!items.length) return "";
                const w = windows[items[0].dataIndex];
                return w.collapsed.length ? `collapse: ${w.collapsed.map((m) => METRIC_NAMES[m] || m).join(", ")}` : "";
              },
            },
          },
        },
      },
    });
    list.replaceChildren(...collapsedAt.map((i) => {
      const w = windows[i];
      return el("li", { dataset: { window: w.start } },
        el("b", { text: new Date(w.start).toLocaleString() }),
        ` (${fmtInt(w.kept)} kept): ${w.collapsed.map((m) => `${METRIC_NAMES[m] || m} ${fmtNum(w[m])}`).join(", ")}`,
        " fell below the first window's level.");
    }));
    list.hidden = !collapsedAt.length;
  }

  // ------------------------------------------------------------------ bias report

  async function refreshBias() {
    const bias = await api("/api/bias", { collection: CONFIG.collection });
    state.bias = bias;
    renderBias(bias);
  }

  function renderBias(bias) {
    setText("bias-meta", `lexicon ${bias.lexicon_version} · overall drop rate ${fmtPct(bias.overall_drop_rate)}`
      + ` · flagged when the 95% lower bound of a drop rate is above ${bias.drop_factor}× it,`
      + ` with at least ${bias.min_count} samples and ${bias.min_drops} drops`);
    const flags = $("bias-flags");
    if (bias.flags.length) {
      flags.replaceChildren(el("ul", { class: "flags", "data-testid": "bias-flag-list" },
        ...bias.flags.map((line) => el("li", { text: line }))));
    } else if (bias.totals.total) {
      flags.replaceChildren(el("ul", { class: "flags ok" }, el("li", {
        text: `No identity axis or group is dropped more than ${bias.drop_factor}× the overall rate with 95% confidence.`,
      })));
    } else {
      flags.replaceChildren();
    }
    const axes = bias.axes.filter((a) => a.counts.total > 0).sort((a, b) => b.counts.total - a.counts.total);
    if (!axes.length) {
      draw("chart-bias", null);
    } else {
      $("chart-bias").parentElement.style.height = `${Math.max(160, 40 + axes.length * 26)}px`;
      draw("chart-bias", {
        type: "bar",
        data: {
          labels: axes.map((a) => `${axisLabel(a)} (${fmtInt(a.counts.total)})`),
          datasets: [{
            label: "drop rate",
            data: axes.map((a) => a.drop_rate),
            // flagged: red; too few samples or drops to be flagged: pale
            backgroundColor: axes.map((a) => (a.disproportionate_drop
              ? COLORS.drop
              : alpha(COLORS.slate, tooFew(bias, a) ? 0.3 : 0.8))),
            borderRadius: 3,
            maxBarThickness: 20,
          }],
        },
        options: {
          indexAxis: "y",
          layout: { padding: { top: 14 } },
          scales: {
            x: percentAxis({ suggestedMax: Math.min(1, Math.max(bias.overall_drop_rate * bias.drop_factor * 1.2, 0.05)) }),
            y: { grid: { display: false } },
          },
          plugins: {
            legend: { display: false },
            refLines: {
              lines: [
                { axis: "x", value: bias.overall_drop_rate, color: "#1f2328", label: "overall" },
                { axis: "x", value: bias.overall_drop_rate * bias.drop_factor, color: COLORS.drop, dash: [2, 3], label: "flag" },
              ],
            },
            tooltip: {
              callbacks: {
                label: (item) => {
                  const a = axes[item.dataIndex];
                  return [`drop rate ${fmtPct(a.drop_rate)} of ${fmtInt(a.counts.total)} mentions`
                    + ` (95% lower bound ${fmtPct(a.drop_rate_lower)})`
                    + (tooFew(bias, a) ? ` (under ${bias.min_count} samples or ${bias.min_drops} drops: never flagged)` : ""),
                    `skew vs reference: TV ${fmtNum(a.total_variation, 2)}, JS ${fmtNum(a.js_divergence, 2)}`,
                    `found by: ${evidenceText(a)}`];
                },
              },
            },
          },
          onClick: (_event, elements) => {
            if (!elements.length) return;
            $("bias-axis").value = axes[elements[0].index].axis;
            renderBiasShare(bias);
          },
          onHover: pointerOnBars,
        },
      });
    }
    const select = $("bias-axis");
    const previous = select.value;
    select.replaceChildren(...axes.map((a) => el("option", { value: a.axis, text: axisLabel(a) })));
    select.parentElement.hidden = !axes.length;
    if (axes.some((a) => a.axis === previous)) select.value = previous;
    renderBiasShare(bias);
    const p = bias.pronouns;
    $("bias-pronouns").hidden = !bias.totals.total;
    setText("bias-pronouns", `Pronouns in kept samples: he ${fmtInt(p.he)} · she ${fmtInt(p.she)} · they ${fmtInt(p.they)}`
      + (p.she_per_he === null ? "" : ` (she per he ${fmtNum(p.she_per_he, 2)})`));
  }

  // The axis's display name ("disability" for ability); JSON keys stay HolisticBias's.
  function axisLabel(axis) {
    return axis.label || axis.axis.replaceAll("_", " ");
  }

  // Too few samples or drops to be flagged, whatever the rate.
  function tooFew(bias, axis) {
    return axis.counts.total < bias.min_count || axis.counts.drop < (bias.min_drops || 1);
  }

  // Kept samples (of all) whose mentions of the axis each method found: lexicon, name, model.
  function evidenceText(axis) {
    const found = Object.entries(axis.evidence || {});
    if (!found.length) return "no evidence annotations";
    return found.map(([method, c]) => `${method} ${fmtInt(c.keep)} kept of ${fmtInt(c.total)}`).join(" · ");
  }

  function renderBiasShare(bias) {
    const axis = bias.axes.find((a) => a.axis === $("bias-axis").value);
    const evidence = $("bias-evidence");
    evidence.hidden = !axis;
    if (axis) setText("bias-evidence", `${axisLabel(axis)}, mentions found by: ${evidenceText(axis)}`);
    if (!axis || !axis.counts.keep) {
      setText("bias-axis-meta", "Share of the axis's mentions in kept samples, against the reference share.");
      return draw("chart-bias-share", null);
    }
    const seen = axis.groups.filter((g) => g.counts.total > 0).sort((a, b) => b.share - a.share || b.counts.total - a.counts.total);
    const shown = seen.slice(0, 16);
    const unseen = axis.groups.length - seen.length;
    setText("bias-axis-meta", `${axisLabel(axis)}: total variation ${fmtNum(axis.total_variation, 2)}, JS divergence `
      + `${fmtNum(axis.js_divergence, 2)} from the reference.`
      + (unseen ? ` ${unseen} more group${unseen === 1 ? "" : "s"} never mentioned.` : ""));
    $("chart-bias-share").parentElement.style.height = `${Math.max(160, 60 + shown.length * 30)}px`;
    draw("chart-bias-share", {
      type: "bar",
      data: {
        labels: shown.map((g) => g.group.replaceAll("_", " ")),
        datasets: [
          {
            label: "share of kept mentions", data: shown.map((g) => g.share),
            backgroundColor: shown.map((g) => (g.disproportionate_drop ? COLORS.drop : COLORS.keep)), maxBarThickness: 14,
          },
          { label: "reference", data: shown.map((g) => g.reference), backgroundColor: "rgba(101, 109, 118, 0.35)", maxBarThickness: 14 },
        ],
      },
      options: {
        indexAxis: "y",
        scales: { x: percentAxis(), y: { grid: { display: false } } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: {
            callbacks: {
              label: (item) => `${item.dataset.label}: ${fmtPct(item.raw)}`,
              footer: (items) => {
                if (!items.length) return "";
                const g = shown[items[0].dataIndex];
                return `${fmtInt(g.counts.total)} samples · drop rate ${fmtPct(g.drop_rate)}${g.disproportionate_drop ? " (flagged)" : ""}`;
              },
            },
          },
        },
      },
    });
  }

  // ------------------------------------------------------------------ coverage report (on demand)

  // Computing a report takes up to a few seconds, so it is fetched when asked for, never by refreshAll.
  const COVERAGE_METRICS = [
    ["mean_nn_distance", "mean NN distance (1 - cosine)"],
    ["distinct_3", "distinct word 3-grams"],
  ];
  const COVERAGE_WINDOW_METRICS = [
    ["cluster_entropy", "cluster entropy"],
    ["distinct_3", "distinct word 3-grams"],
  ];
  const EXAMPLE_CHARS = 160;

  function clip(text) {
    const flat = text.split(/\s+/).filter(Boolean).join(" ");
    return flat.length <= EXAMPLE_CHARS ? flat : `${flat.slice(0, EXAMPLE_CHARS - 1).trimEnd()}…`;
  }

  async function loadCoverage() {
    const button = $("coverage-run");
    button.disabled = true;
    setText("coverage-meta", "computing…");
    try {
      const path = `/api/collections/${encodeURIComponent(CONFIG.collection)}/report`;
      const report = await api(path, { group_by: $("coverage-group").value });
      state.coverage = report;
      renderCoverage(report);
      clearError("coverage");
      button.textContent = "Recompute";
    } catch (err) {
      setText("coverage-meta", "");
      showError(err, "coverage");
    } finally {
      button.disabled = false;
    }
  }

  function renderCoverage(r) {
    setText("coverage-meta", `${fmtInt(r.reference_items)} reference items · ${fmtInt(r.synthetic_kept)} kept samples`
      + ` · computed ${timeFmt.format(new Date())}`);
    $("coverage-no-reference").hidden = r.reference_items > 0;
    $("coverage-body").hidden = false;
    for (const [id, value] of [["coverage-precision", r.precision], ["coverage-recall", r.recall]]) {
      const node = $(id);
      node.textContent = fmtPct(value);
      node.dataset.value = value === null ? "" : String(value);
    }
    document.querySelectorAll(".coverage-k").forEach((node) => { node.textContent = String(r.k); });
    const notes = [];
    if (r.precision === null) notes.push(`Precision and recall need more than k = ${r.k} items on both sides.`);
    if (r.sampled) notes.push("Compared on a uniform sample of at most 5,000 points of each side.");
    $("coverage-note").hidden = !notes.length;
    setText("coverage-note", notes.join(" "));

    setText("coverage-mix-key", `by ${r.mix_key}`);
    $("coverage-mix").replaceChildren(...(r.mix.length
      ? r.mix.map((m) => el("tr", {},
        el("td", { text: m.value || "(none)" }),
        el("td", { class: "num", text: fmtInt(m.kept) }),
        el("td", { class: "num", text: fmtPct(m.share) })))
      : [el("tr", {}, el("td", { colspan: "3", class: "muted", text: "Nothing kept yet." }))]));

    const known = COVERAGE_METRICS.map(([name]) => name);
    const names = [...new Set([...Object.keys(r.reference_metrics), ...Object.keys(r.synthetic_metrics)])]
      .sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b));
    const labels = Object.fromEntries(COVERAGE_METRICS);
    $("coverage-metrics").replaceChildren(...(names.length
      ? names.map((name) => {
        const real = r.reference_metrics[name];
        const synthetic = r.synthetic_metrics[name];
        const ratio = real && synthetic !== undefined ? synthetic / real : null;
        return el("tr", { dataset: { metric: name } },
          el("td", { text: labels[name] || name }),
          el("td", { class: "num", text: fmtNum(real) }),
          el("td", { class: "num", text: fmtNum(synthetic) }),
          el("td", { class: "num", text: fmtNum(ratio, 2) }));
      })
      : [el("tr", {}, el("td", { colspan: "4", class: "muted", text: "No data on either side yet." }))]));

    renderCoverageWindows(r.windows || []);

    const none = "No regions: they need both reference items and kept samples.";
    const missed = r.regions.filter((g) => g.status === "missed");
    const over = r.regions.filter((g) => g.status === "over-filled")
      .sort((a, b) => (b.synthetic_share - b.real_share) - (a.synthetic_share - a.real_share));
    renderRegions("coverage-missed", missed, "real examples", r.regions.length ? "No missed region." : none);
    renderRegions("coverage-over", over, "kept examples", r.regions.length ? "No over-filled region." : none);
  }

  // The collapse monitor's windows against the reference: per metric "window / reference", marked when below.
  function renderCoverageWindows(windows) {
    $("coverage-windows-block").hidden = !windows.length;
    const known = COVERAGE_WINDOW_METRICS.map(([name]) => name);
    const names = [...new Set(windows.flatMap((w) => Object.keys(w.window)))]
      .sort((a, b) => (known.indexOf(a) + 1 || 99) - (known.indexOf(b) + 1 || 99) || a.localeCompare(b));
    const labels = Object.fromEntries(COVERAGE_WINDOW_METRICS);
    const daily = windows.every((w) => w.start.slice(11, 19) === "00:00:00");
    $("coverage-windows-head").replaceChildren(
      el("th", { text: "start (UTC)" }),
      el("th", { class: "num", text: "kept" }),
      ...names.map((name) => el("th", { class: "num", text: labels[name] || name })));
    $("coverage-windows").replaceChildren(...windows.map((w) => el("tr", { dataset: { start: w.start } },
      el("td", { text: daily ? w.start.slice(0, 10) : w.start.slice(0, 16).replace("T", " ") }),
      el("td", { class: "num", text: fmtInt(w.kept) }),
      ...names.map((name) => {
        if (!(name in w.window)) return el("td", { class: "num", text: "–" });
        const below = w.below.includes(name);
        return el("td", {
          class: below ? "num below" : "num",
          dataset: { metric: name, below: below ? "1" : "" },
          title: below ? `more than the collapse monitor's max_drop below the reference's ${fmtNum(w.reference[name])}` : null,
          text: `${fmtNum(w.window[name])} / ${fmtNum(w.reference[name])}${below ? " ▼" : ""}`,
        });
      }))));
  }

  function renderRegions(id, regions, what, none) {
    $(id).replaceChildren(...(regions.length
      ? regions.map((g) => el("div", {
        class: `region ${g.status}`, "data-testid": "coverage-region", dataset: { cluster: String(g.cluster) },
      },
      el("div", { class: "small" },
        el("b", { text: `region ${g.cluster}` }),
        ` · ${fmtPct(g.real_share)} of real items, ${fmtPct(g.synthetic_share)} of kept samples · ${what}:`),
      el("ul", {}, ...g.examples.map((text) => el("li", { text: clip(text), title: text })))))
      : [el("p", { class: "muted small", text: none })]));
  }

  // ------------------------------------------------------------------ decisions: filters and paging

  function fillFilterOptions(stats) {
    // Rebuilt only when the choices changed, so a refresh never closes a list someone has open.
    const signature = JSON.stringify([Object.keys(stats.by_reason), CONFIG.group_keys.map((k) => Object.keys((stats.by_group || {})[k] || {}))]);
    if ($("filters").dataset.signature === signature) return;
    $("filters").dataset.signature = signature;
    const reason = $("filter-reason");
    const chosenReason = reason.value;
    const codes = Object.keys(stats.by_reason).sort();
    if (chosenReason && !codes.includes(chosenReason)) codes.push(chosenReason);
    reason.replaceChildren(el("option", { value: "", text: "any" }), ...codes.map((c) => el("option", { value: c, text: c })));
    reason.value = chosenReason;

    const meta = $("filter-meta");
    const chosenMeta = meta.value;
    const groups = CONFIG.group_keys.map((key) => {
      const values = Object.keys((stats.by_group && stats.by_group[key]) || {}).filter((v) => v !== "").sort();
      return el("optgroup", { label: key },
        ...values.map((v) => el("option", { value: JSON.stringify([key, v]), text: `${key}: ${v}` })));
    });
    meta.replaceChildren(el("option", { value: "", text: "any" }), ...groups);
    if (chosenMeta && !meta.querySelector(`option[value='${CSS.escape(chosenMeta)}']`)) {
      const [key, value] = JSON.parse(chosenMeta);
      meta.append(el("option", { value: chosenMeta, text: `${key}: ${value}` }));
    }
    meta.value = chosenMeta;
  }

  function currentQueries() {
    const verdict = $("filter-verdict").value;
    const base = {
      collection: CONFIG.collection,
      review_state: $("filter-review").value,
      reason: $("filter-reason").value,
      sample_id: $("filter-sample").value.trim(),
    };
    const meta = $("filter-meta").value;
    if (meta) [base.metadata_key, base.metadata_value] = JSON.parse(meta);
    if (verdict === "not_kept") return [{ ...base, verdict: "drop" }, { ...base, verdict: "review" }];
    return [{ ...base, verdict }];
  }

  /** Pages through one or more decision queries at once, merged newest first (the API takes one verdict). */
  class DecisionCursor {
    constructor(queries) {
      this.streams = queries.map((q) => ({ q, buf: [], token: "", done: false }));
    }

    get more() {
      return this.streams.some((s) => s.buf.length || !s.done);
    }

    async next(n) {
      const out = [];
      while (out.length < n) {
        await Promise.all(this.streams.filter((s) => !s.buf.length && !s.done).map(async (s) => {
          const page = await api("/api/decisions", { ...s.q, page_size: n, page_token: s.token });
          s.buf.push(...page.decisions);
          s.token = page.next_page_token;
          s.done = !s.token;
        }));
        const live = this.streams.filter((s) => s.buf.length);
        if (!live.length) break;
        const best = live.reduce((a, b) => (Number(a.buf[0].decision_id) >= Number(b.buf[0].decision_id) ? a : b));
        out.push(best.buf.shift());
      }
      return out;
    }
  }

  async function loadDecisions() {
    const cursor = new DecisionCursor(currentQueries());
    state.cursor = cursor;
    const list = $("decision-list");
    list.setAttribute("aria-busy", "true");
    try {
      const rows = await cursor.next(PAGE_SIZE);
      if (state.cursor !== cursor) return; // filters changed meanwhile
      list.replaceChildren(...rows.map(renderDecision));
      state.topId = rows.length ? Number(rows[0].decision_id) : 0;
      $("decisions-empty").hidden = rows.length > 0;
      $("decisions-more").hidden = !cursor.more;
      $("new-decisions").hidden = true;
      clearError("decisions");
    } catch (err) {
      showError(err, "decisions");
    } finally {
      list.removeAttribute("aria-busy");
    }
  }

  async function loadMore() {
    const cursor = state.cursor;
    if (!cursor) return;
    const button = $("decisions-more");
    button.disabled = true;
    try {
      const rows = await cursor.next(PAGE_SIZE);
      if (state.cursor !== cursor) return;
      $("decision-list").append(...rows.map(renderDecision));
      button.hidden = !cursor.more;
    } catch (err) {
      showError(err, "decisions");
    } finally {
      button.disabled = false;
    }
  }

  /** Whether decisions newer than the top of the list match the filters (shown as a button, not pushed in). */
  async function checkNewDecisions() {
    if (!state.cursor) return;
    const newest = await Promise.all(currentQueries().map((q) => api("/api/decisions", { ...q, page_size: 1 })));
    const top = Math.max(0, ...newest.flatMap((page) => page.decisions.map((d) => Number(d.decision_id))));
    if (top > state.topId) {
      if (state.topId === 0) await loadDecisions();
      else $("new-decisions").hidden = false;
    }
  }

  function setFilters({ verdict, review = "", reason = "", meta = "", sample = "" }) {
    $("filter-verdict").value = verdict;
    $("filter-review").value = review;
    const reasonSelect = $("filter-reason");
    if (reason && !reasonSelect.querySelector(`option[value='${CSS.escape(reason)}']`)) {
      reasonSelect.append(el("option", { value: reason, text: reason }));
    }
    reasonSelect.value = reason;
    $("filter-meta").value = meta;
    $("filter-sample").value = sample;
    loadDecisions();
    $("decisions-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  // ------------------------------------------------------------------ decisions: rendering

  /** For two word lists, which words of each are outside their longest common subsequence (null: too long). */
  function wordDiff(a, b) {
    const n = a.length;
    const m = b.length;
    if (n * m > 400000) return null;
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    const changedA = new Array(n).fill(true);
    const changedB = new Array(m).fill(true);
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a[i] === b[j]) {
        changedA[i++] = false;
        changedB[j++] = false;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) i++;
      else j++;
    }
    return [changedA, changedB];
  }

  const words = (text) => (text || "").match(/\S+/g) || [];

  /** Text as a node; words marked ``changed`` are wrapped in <mark> (consecutive ones together). */
  function textNode(text, changed) {
    const body = el("div", { class: "body" });
    if (!changed || !changed.some(Boolean)) {
      body.textContent = text;
      return body;
    }
    let k = 0;
    let run = null;
    for (const token of text.match(/\s+|\S+/g) || []) {
      if (/^\s/.test(token)) {
        (run || body).append(token);
        continue;
      }
      if (changed[k++]) {
        if (!run) {
          run = el("mark");
          body.append(run);
        }
        run.append(token);
      } else {
        if (run && run.lastChild && /^\s+$/.test(run.lastChild.textContent)) body.append(run.lastChild);
        run = null;
        body.append(token);
      }
    }
    return body;
  }

  /** The sample's text fields, in order, as [label, text] pairs (chat: one per message). */
  function fields(sample) {
    if (sample.shape === "alpaca") {
      return [["instruction", sample.instruction], ["input", sample.input], ["output", sample.output]]
        .filter(([, text]) => text);
    }
    if (sample.shape === "chat") return sample.messages.map((m) => [m.role, m.content]);
    return [["text", sample.text]];
  }

  function renderSample(sample, title, other) {
    const box = el("div", { class: "sample", "data-testid": "sample", dataset: { sampleId: sample.id, shape: sample.shape } });
    box.append(el("h4", {}, title));
    const mine = fields(sample);
    const theirs = other && other.shape === sample.shape ? fields(other) : null;
    mine.forEach(([label, text], k) => {
      let changed = null;
      if (theirs && theirs[k] && theirs[k][0] === label) {
        const diff = wordDiff(words(text), words(theirs[k][1]));
        if (diff) changed = diff[0];
      }
      if (sample.shape === "chat") {
        box.append(el("div", { class: "msg" }, el("span", { class: "role", text: label }), textNode(text, changed)));
      } else {
        if (sample.shape !== "text") box.append(el("div", { class: "field-name", text: label }));
        box.append(textNode(text, changed));
      }
    });
    if (sample.context && sample.context.length) {
      box.append(el("details", {}, el("summary", { text: `context (${sample.context.length})` }),
        ...sample.context.map((c) => el("div", { class: "body", text: c }))));
    }
    const meta = Object.entries(sample.metadata || {});
    if (meta.length) {
      box.append(el("details", {}, el("summary", { text: `metadata (${meta.length})` }),
        el("div", { class: "body" }, meta.map(([k, v]) => `${k}: ${v}`).join("\n"))));
    }
    return box;
  }

  function scoreCell(reason) {
    const cell = el("td", { class: "num" }, fmtNum(reason.score));
    const lo = Math.min(0, reason.score, reason.threshold);
    const hi = Math.max(1, reason.score, reason.threshold);
    if (hi > lo) {
      const bar = el("span", { class: "scorebar", "aria-hidden": "true" });
      const fill = el("i");
      fill.style.width = `${((reason.score - lo) / (hi - lo)) * 100}%`;
      fill.style.background = COLORS[reason.action] || COLORS.slate;
      const mark = el("s");
      mark.style.left = `${((reason.threshold - lo) / (hi - lo)) * 100}%`;
      bar.append(fill, mark);
      cell.append(bar);
    }
    return cell;
  }

  function renderDecision(rec) {
    const node = document.getElementById("tpl-decision").content.firstElementChild.cloneNode(true);
    node.classList.add(`v-${rec.verdict}`);
    Object.assign(node.dataset, { decisionId: rec.decision_id, verdict: rec.verdict, sampleId: rec.sample_id });
    if (rec.review_state) node.dataset.reviewState = rec.review_state;
    const verdict = node.querySelector(".verdict");
    verdict.textContent = rec.verdict;
    verdict.classList.add(rec.verdict);
    node.querySelector(".sample-id").textContent = rec.sample_id;
    const reviewBadge = node.querySelector(".review-state");
    if (rec.review_state) {
      reviewBadge.hidden = false;
      reviewBadge.textContent = rec.review_state;
      reviewBadge.classList.add(rec.review_state);
    }
    node.querySelector(".chips").append(...CONFIG.group_keys
      .filter((key) => rec.metadata && rec.metadata[key] !== undefined)
      .map((key) => el("span", { class: "chip" }, `${key} `, el("b", { text: rec.metadata[key] }))));
    const time = node.querySelector("time");
    time.dateTime = rec.decided_at;
    time.textContent = `#${rec.decision_id} · ${new Date(rec.decided_at).toLocaleString()} · policy v${rec.policy_version}`;

    const tbody = node.querySelector(".reasons tbody");
    if (!rec.reasons.length) node.querySelector(".reasons").hidden = true;
    for (const r of rec.reasons) {
      tbody.append(el("tr", { "data-testid": "reason", dataset: { code: r.code, matchedId: r.matched_id || "" } },
        el("td", {}, el("code", { text: r.code })),
        el("td", { text: r.check }),
        scoreCell(r),
        el("td", { class: "num", text: fmtNum(r.threshold) }),
        el("td", {}, el("span", { class: `badge ${r.action === "flag" ? "keep" : r.action}`, text: r.action })),
        el("td", { text: r.message })));
    }

    const samples = node.querySelector(".samples");
    const matchedIds = [...new Set(rec.reasons.map((r) => r.matched_id).filter(Boolean))];
    const matched = matchedIds.filter((id) => rec.matched && rec.matched[id]).map((id) => rec.matched[id]);
    if (rec.sample) {
      samples.append(renderSample(rec.sample, `sample ${rec.sample.id}`, matched[0]));
    } else {
      samples.append(el("div", { class: "sample muted", text: "This decision was logged without its sample." }));
    }
    if (matchedIds.length) {
      samples.classList.add("side-by-side");
      const column = el("div", { class: "matched", "data-testid": "matched" });
      for (const id of matchedIds) {
        const sample = rec.matched && rec.matched[id];
        const why = rec.reasons.filter((r) => r.matched_id === id).map((r) => `${r.code} ${fmtNum(r.score)}`).join(", ");
        column.append(sample
          ? renderSample(sample, `matched kept sample ${id} · ${why}`, rec.sample)
          : el("div", { class: "sample muted", text: `matched kept sample ${id} (${why}): not in the log` }));
      }
      samples.append(column);
    }
    renderReviewBox(node.querySelector(".review-box"), rec);
    return node;
  }

  function renderReviewBox(box, rec) {
    box.replaceChildren();
    if (rec.review) {
      const r = rec.review;
      box.append(el("span", { class: "done", "data-testid": "review-done" },
        el("span", { class: `badge ${rec.review_state}`, text: rec.review_state }),
        ` by ${r.reviewer} · ${new Date(r.reviewed_at).toLocaleString()}`,
        r.note ? ` · “${r.note}”` : ""));
      return;
    }
    if (rec.verdict !== "review" || rec.review_state !== "pending") return;
    const note = el("input", { type: "text", placeholder: "note (optional)", maxlength: "2000", "data-testid": "review-note", "aria-label": "review note" });
    const approve = el("button", { type: "button", class: "pill approve", "data-testid": "review-approve", text: "Approve" });
    const reject = el("button", { type: "button", class: "pill reject", "data-testid": "review-reject", text: "Reject" });
    const act = (action) => review(rec, action, note.value, box, [approve, reject, note]);
    approve.addEventListener("click", () => act("approve"));
    reject.addEventListener("click", () => act("reject"));
    box.append(note, approve, reject,
      el("span", { class: "muted small", text: "approving admits the sample into the collection" }));
  }

  // ------------------------------------------------------------------ reviews

  function askReviewer() {
    const dialog = $("reviewer-dialog");
    const input = $("reviewer-input");
    input.value = localStorage.getItem(STORE.reviewer) || "";
    return new Promise((resolve) => {
      const done = (name) => {
        dialog.removeEventListener("close", onClose);
        resolve(name);
      };
      const onClose = () => {
        const name = dialog.returnValue === "ok" ? input.value.trim() : "";
        if (name) {
          localStorage.setItem(STORE.reviewer, name);
          showReviewer();
        }
        done(name || null);
      };
      dialog.addEventListener("close", onClose);
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  async function reviewerName() {
    if (CONFIG.auth) return ""; // the server logs the token's name
    return localStorage.getItem(STORE.reviewer) || askReviewer();
  }

  function showReviewer() {
    const box = $("reviewer-box");
    if (!box) return;
    const name = localStorage.getItem(STORE.reviewer);
    box.hidden = !name;
    setText("reviewer-name", name || "");
  }

  async function review(rec, action, note, box, controls) {
    const reviewer = await reviewerName();
    if (reviewer === null) return;
    controls.forEach((c) => { c.disabled = true; });
    try {
      const body = await api(`/api/decisions/${encodeURIComponent(rec.decision_id)}/review`, {}, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ action, note, reviewer }),
      });
      const updated = { ...body.decision, matched: rec.matched };
      const row = box.closest(".decision");
      const fresh = renderDecision(updated);
      fresh.classList.add("flash");
      row.replaceWith(fresh);
      clearError("review");
      await refreshStats();
    } catch (err) {
      controls.forEach((c) => { c.disabled = false; });
      showError(err, "review");
    }
  }

  // ------------------------------------------------------------------ refresh loop and wiring

  async function refreshAll({ decisions = false } = {}) {
    const jobs = [refreshStats(), refreshBias()];
    if (decisions) jobs.push(loadDecisions());
    else jobs.push(checkNewDecisions());
    const results = await Promise.allSettled(jobs);
    const failed = results.find((r) => r.status === "rejected");
    if (failed) showError(failed.reason, "refresh");
    else clearError("refresh");
    state.refreshes += 1;
    document.body.dataset.refreshes = String(state.refreshes);
    setText("status", `updated ${timeFmt.format(new Date())}`);
  }

  async function loadCollectionInfo() {
    const body = await api("/api/collections");
    state.collectionInfo = body.collections.find((c) => c.name === CONFIG.collection) || null;
    return body.collections;
  }

  async function pollForCollections() {
    try {
      const collections = await loadCollectionInfo();
      if (collections.length) window.location.reload();
    } catch (err) {
      showError(err, "refresh");
    }
  }

  function wire() {
    const select = $("collection-select");
    if (select) {
      select.addEventListener("change", () => {
        const url = new URL(window.location.href);
        url.searchParams.set("collection", select.value);
        window.location.assign(url);
      });
    }
    $("error-close").addEventListener("click", () => clearError());
    const bucket = $("bucket-select");
    bucket.value = localStorage.getItem(STORE.bucket) || "auto";
    if (!bucket.value) bucket.value = "auto";
    bucket.addEventListener("change", () => {
      localStorage.setItem(STORE.bucket, bucket.value);
      refreshStats().catch((err) => showError(err, "refresh"));
    });
    for (const id of ["filter-verdict", "filter-review", "filter-reason", "filter-meta"]) {
      $(id).addEventListener("change", loadDecisions);
    }
    $("filter-sample").addEventListener("change", loadDecisions);
    $("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      loadDecisions();
    });
    $("filter-queue").addEventListener("click", () => setFilters({ verdict: "review", review: "pending" }));
    $("open-queue").addEventListener("click", () => setFilters({ verdict: "review", review: "pending" }));
    $("filter-reset").addEventListener("click", () => setFilters({ verdict: "not_kept" }));
    $("decisions-more").addEventListener("click", loadMore);
    $("new-decisions").addEventListener("click", loadDecisions);
    $("bias-axis").addEventListener("change", () => state.bias && renderBiasShare(state.bias));
    $("coverage-run").addEventListener("click", loadCoverage);
    $("coverage-group").addEventListener("change", () => { if (state.coverage) loadCoverage(); });
    const change = $("reviewer-change");
    if (change) change.addEventListener("click", () => askReviewer());
    $("reviewer-cancel").addEventListener("click", () => $("reviewer-dialog").close("cancel"));
  }

  async function start() {
    const auto = $("auto-refresh");
    window.curatorDashboard = { refresh: (opts) => refreshAll(opts), state };
    if (!CONFIG.collections.length) {
      $("error-close").addEventListener("click", () => clearError());
      setInterval(() => { if (auto.checked) pollForCollections(); }, REFRESH_MS);
      document.body.dataset.refreshes = "1";
      return;
    }
    setupChartDefaults();
    wire();
    showReviewer();
    try {
      await loadCollectionInfo();
    } catch (err) {
      showError(err, "refresh");
    }
    await refreshAll({ decisions: true });
    document.body.dataset.ready = "1";
    setInterval(() => {
      if (auto.checked && document.visibilityState === "visible") refreshAll();
    }, REFRESH_MS);
  }

  start();
})();
