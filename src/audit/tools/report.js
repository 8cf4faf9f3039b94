"use strict";
(function () {
  var errors = [];
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e));
    document.body.setAttribute("data-errors", errors.join(" | "));
  });
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = { allow: "#2e7d32", deny: "#c62828", refuse: "#ef6c00", error: "#6a1b9a" };
  var DECISIONS = ["allow", "deny", "refuse", "error"];

  function el(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    for (var k in attrs) { node.setAttribute(k, String(attrs[k])); }
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function html(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function svg(id, width, height) {
    var box = document.getElementById(id);
    var s = el("svg", { width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img" });
    box.appendChild(s);
    return s;
  }
  function empty(s, message) {
    s.appendChild(el("text", { x: 10, y: 24, "class": "empty" }, message));
    return 0;
  }
  function fmtTime(ms, step) {
    var iso = new Date(ms).toISOString();
    if (step < 1000) { return iso.slice(11, 23); }
    if (step < 86400000) { return iso.slice(11, 19); }
    return iso.slice(0, 10);
  }
  function niceMax(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) { return steps[i] * p; } }
    return 10 * p;
  }

  function timeline(data) {
    var W = 900, H = 280, L = 50, R = 10, T = 10, B = 40;
    var s = svg("chart-timeline", W, H);
    var t = data.timeline;
    if (!t.buckets.length) { return empty(s, "no requests in range"); }
    var top = niceMax(Math.max.apply(null, t.buckets.map(function (b) { return b[1] + b[2] + b[3] + b[4]; })));
    var bw = (W - L - R) / t.buckets.length;
    var y = function (v) { return T + (H - T - B) * (1 - v / top); };
    for (var g = 0; g <= 4; g++) {
      var v = top * g / 4;
      s.appendChild(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), "class": "grid" }));
      s.appendChild(el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "class": "axis" }, Math.round(v * 100) / 100));
    }
    var marks = 0;
    t.buckets.forEach(function (b, i) {
      var base = 0;
      for (var d = 0; d < 4; d++) {
        var n = b[d + 1];
        if (!n) { continue; }
        var r = el("rect", { x: L + i * bw + 0.5, width: Math.max(bw - 1, 1), y: y(base + n), height: y(base) - y(base + n), fill: COLORS[DECISIONS[d]], "class": "mark" });
        r.appendChild(el("title", {}, fmtTime(b[0], t.bucket_ms) + " " + DECISIONS[d] + ": " + n));
        s.appendChild(r);
        base += n;
        marks++;
      }
    });
    var labels = Math.min(t.buckets.length, 8);
    for (var k = 0; k < labels; k++) {
      var i = Math.floor(k * t.buckets.length / labels);
      s.appendChild(el("text", { x: L + i * bw, y: H - B + 16, "class": "axis" }, fmtTime(t.buckets[i][0], t.bucket_ms)));
    }
    s.appendChild(el("text", { x: W - R, y: H - 6, "text-anchor": "end", "class": "axis" },
      "UTC, one bar per " + (t.bucket_ms >= 1000 ? t.bucket_ms / 1000 + " s" : t.bucket_ms + " ms")));
    return marks;
  }

  function bars(id, rows, color, unit) {
    var W = 440, row = 24, L = 200, R = 60;
    var s = svg(id, W, Math.max(rows.length, 1) * row + 10);
    if (!rows.length) { return empty(s, "none"); }
    var top = Math.max.apply(null, rows.map(function (r) { return r[1]; }));
    rows.forEach(function (r, i) {
      var shown = String(r[0]).replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd");
      var label = shown.length > 30 ? shown.slice(0, 29) + "\u2026" : shown;
      var name = el("text", { x: L - 6, y: i * row + 18, "text-anchor": "end", "class": "label" }, label);
      name.appendChild(el("title", {}, shown));
      s.appendChild(name);
      var w = top > 0 ? (W - L - R) * r[1] / top : 0;
      s.appendChild(el("rect", { x: L, y: i * row + 5, width: Math.max(w, 1), height: row - 8, fill: color, "class": "mark" }));
      s.appendChild(el("text", { x: L + w + 4, y: i * row + 18, "class": "value" }, r[1] + (unit || "")));
    });
    return rows.length;
  }

  function latency(data) {
    var l = data.latency.overall;
    if (!l) { return empty(svg("chart-latency", 440, 40), "no outcome records"); }
    var rows = [["p50", l.p50], ["p90", l.p90], ["p95", l.p95], ["p99", l.p99], ["max", l.max]].map(function (r) {
      return [r[0], Math.round(r[1] * 1000) / 1000];
    });
    return bars("chart-latency", rows, "#1565c0", " ms");
  }

  function credentials(data) {
    var rows = [];
    data.credentials.forEach(function (c) {
      rows.push([c.name + " v" + c.current_version + " age", c.age_days]);
      if (c.days_to_expiry !== null) { rows.push([c.name + " v" + c.current_version + " ends in", c.days_to_expiry]); }
    });
    var marks = bars("chart-credentials", rows, "#455a64", " d");
    var table = document.getElementById("credential-table");
    data.credentials.forEach(function (c) {
      var tr = document.createElement("tr");
      [c.name, "v" + c.current_version, c.current_since || "-", c.age_days + " d",
        c.created || "-", c.expires ? c.expires + " (" + c.expires_why + ")" : "-",
        c.days_to_expiry === null ? "-" : c.days_to_expiry + " d",
        c.versions.map(function (v) { return "v" + v.version + ": " + v.requests; }).join(", ") || "-", c.requests,
        c.note || ""]
        .forEach(function (v) { tr.appendChild(html("td", v)); });
      table.appendChild(tr);
    });
    return marks;
  }

  function totals(data) {
    var box = document.getElementById("totals");
    DECISIONS.forEach(function (d) {
      var span = html("span", d + " " + data.totals[d], "pill");
      span.style.background = COLORS[d];
      box.appendChild(span);
    });
    document.getElementById("range").textContent = data.first ? data.first + " .. " + data.last : "no requests";
    document.getElementById("generated").textContent = data.generated;
    document.getElementById("source").textContent = data.source;
  }

  var data = JSON.parse(document.getElementById("report-data").textContent);
  totals(data);
  var charts = [
    function () { return timeline(data); },
    function () { return bars("chart-denied-endpoints", data.denied_endpoints, COLORS.deny); },
    function () { return bars("chart-denied-clients", data.denied_clients, COLORS.refuse); },
    function () { return latency(data); },
    function () { return credentials(data); }
  ];
  var drawn = 0;
  charts.forEach(function (draw) {
    try { if (draw() > 0) { drawn++; } } catch (e) { errors.push(String(e && e.stack || e)); }
  });
  document.body.setAttribute("data-charts", String(charts.length));
  document.body.setAttribute("data-charts-drawn", String(drawn));
  document.body.setAttribute("data-errors", errors.join(" | "));
})();
