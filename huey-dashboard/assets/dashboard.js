// huey dashboard: live numbers and charts on the overview (server-sent events), select-all
// boxes and confirmations on forms. No framework, no network beyond the dashboard itself.
"use strict";

(function () {
  const base = document.body.dataset.base || "";
  const SVG = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A line chart of `series` ({label, color, values}) over `times` in the <svg id=...>.
  function lineChart(id, times, series, unit) {
    const svg = document.getElementById(id);
    if (!svg) return;
    const width = 600, height = 200, left = 80, bottom = 24, top = 10;
    svg.replaceChildren();
    const max = Math.max(1, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
    const x = (i) => left + (times.length < 2 ? 0 : (i * (width - left - 4)) / (times.length - 1));
    const y = (v) => top + (height - top - bottom) * (1 - v / max);
    for (let k = 0; k <= 4; k++) {
      const value = (max * k) / 4;
      svg.appendChild(el("line", { class: "grid", x1: left, x2: width, y1: y(value), y2: y(value) }));
      const digits = Number.isInteger(value) || value >= 100 ? 0 : value >= 10 ? 1 : 2;
      const label = value.toFixed(digits) + (unit || "");
      svg.appendChild(el("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, label));
    }
    if (times.length) {
      svg.appendChild(el("text", { x: left, y: height - 4 }, times[0]));
      svg.appendChild(el("text", { x: width, y: height - 4, "text-anchor": "end" }, times[times.length - 1]));
    }
    for (const s of series) {
      // A null (a minute without a value) breaks the line; a lone value shows as a dot.
      let run = [];
      const flush = () => {
        if (run.length === 1) {
          const [cx, cy] = run[0].split(",");
          svg.appendChild(el("circle", { cx, cy, r: 2.5, fill: s.color }));
        } else if (run.length > 1) {
          svg.appendChild(el("polyline", { points: run.join(" "), fill: "none", stroke: s.color, "stroke-width": 2 }));
        }
        run = [];
      };
      s.values.forEach((v, i) => (v === null ? flush() : run.push(x(i) + "," + y(v))));
      flush();
    }
    const legend = document.querySelector('[data-legend="' + id + '"]');
    if (legend) {
      legend.replaceChildren(...series.map((s) => {
        const item = document.createElement("span");
        const swatch = document.createElement("i");
        swatch.style.background = s.color;
        item.append(swatch, s.label);
        return item;
      }));
    }
  }

  function setField(name, value) {
    for (const node of document.querySelectorAll('[data-field="' + name + '"]')) node.textContent = value;
  }

  // The overview: numbers and the depth chart from the event stream.
  if (document.getElementById("chart-depth")) {
    const samples = [];
    const keep = 300;
    const source = new EventSource(base + "/events");
    source.addEventListener("snapshot", (event) => {
      const s = JSON.parse(event.data);
      for (const key of ["pending", "scheduled", "running", "dead", "results", "consumers", "workers"]) {
        setField(key, s[key]);
      }
      setField("at", s.at.substring(11, 19));
      const badge = document.querySelector('[data-field="paused-badge"]');
      if (badge) {
        badge.textContent = s.paused ? "paused" : "running";
        badge.className = "badge " + (s.paused ? "warn" : "ok");
      }
      const error = document.querySelector('[data-field="error"]');
      if (error) error.hidden = true;
      samples.push(s);
      if (samples.length > keep) samples.shift();
      lineChart("chart-depth", samples.map((p) => p.at.substring(11, 19)), [
        { label: "pending", color: "#2f6fde", values: samples.map((p) => p.pending) },
        { label: "scheduled", color: "#805ad5", values: samples.map((p) => p.scheduled) },
        { label: "running", color: "#1f8f4e", values: samples.map((p) => p.running) },
        { label: "dead letters", color: "#c53030", values: samples.map((p) => p.dead) },
      ]);
    });
    const colors = {
      complete: "#1f8f4e", error: "#c53030", retrying: "#b7791f", timeout: "#dd6b20",
      revoked: "#718096", expired: "#a0aec0", "dead-lettered": "#742a2a",
    };
    const spare = ["#2f6fde", "#805ad5", "#319795", "#d53f8c", "#4a5568"];
    source.addEventListener("stats", (event) => {
      const s = JSON.parse(event.data);
      const names = Object.keys(s.outcomes);
      lineChart("chart-throughput", s.minutes, names.map((name, i) => ({
        label: name, color: colors[name] || spare[i % spare.length], values: s.outcomes[name],
      })));
      lineChart("chart-latency", s.minutes, [
        { label: "mean run time", color: "#2f6fde", values: s.mean_run_ms },
        { label: "mean queue latency", color: "#805ad5", values: s.mean_wait_ms },
      ], " ms");
      const total = names.reduce((sum, name) => sum + s.outcomes[name].reduce((a, b) => a + b, 0), 0);
      setField("executions", total);
    });
    source.addEventListener("storage-error", (event) => {
      const error = document.querySelector('[data-field="error"]');
      if (error) {
        error.textContent = event.data;
        error.hidden = false;
      }
    });
  }

  // A header box that selects every row box of its name.
  for (const all of document.querySelectorAll("[data-select-all]")) {
    all.addEventListener("change", () => {
      const boxes = document.querySelectorAll('input[type=checkbox][name="' + all.dataset.selectAll + '"]');
      for (const box of boxes) box.checked = all.checked;
    });
  }

  // Buttons that delete ask first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
})();
