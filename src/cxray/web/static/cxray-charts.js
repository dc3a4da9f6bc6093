/* cxray dashboard charts: draws every figure of the page without any inline script, so
   that the Content-Security-Policy can say script-src 'self'. Each chart is
   <div class="cx-chart"><div id="..." class="plotly-graph-div"></div>
   <script type="application/json" class="cx-figure" data-for="...">{data, layout}</script></div>
   (written by cxray.web._charts). A click on a marker whose customdata (or its first item)
   is a link on this site ("/...") opens that link. */
(function () {
  "use strict";
  function local(c) {
    if (Array.isArray(c)) { c = c[0]; }
    return typeof c === "string" && c.charAt(0) === "/" && c.charAt(1) !== "/" ? c : null;
  }
  function draw(block) {
    var div = document.getElementById(block.getAttribute("data-for"));
    if (!div || !window.Plotly) { return; }
    var fig = JSON.parse(block.textContent);
    var layout = fig.layout || {};
    div.parentNode.style.height = (layout.height || 380) + "px";
    div.style.height = "100%";
    div.style.width = "100%";
    window.Plotly.newPlot(div, fig.data || [], layout, fig.config || {}).then(function () {
      div.on("plotly_click", function (e) {
        var p = e.points && e.points[0];
        var href = p && local(p.customdata);
        if (href) { window.location = href; }
      });
    });
  }
  function all() {
    var blocks = document.querySelectorAll("script.cx-figure[data-for]");
    for (var i = 0; i < blocks.length; i++) { draw(blocks[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", all);
  } else {
    all();
  }
})();
