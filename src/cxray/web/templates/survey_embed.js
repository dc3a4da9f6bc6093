/* cxray survey embed: <script src="{{ base }}/s/{{ name }}/embed.js" async></script> */
(function () {
  var me = document.currentScript;
  var frame = document.createElement("iframe");
  var lang = (me && me.getAttribute("data-lang")) || "";
  var token = (me && me.getAttribute("data-token")) || "";
  var url = "{{ base }}/s/{{ name }}?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "") +
    (token ? "&t=" + encodeURIComponent(token) : "");
  frame.src = url;
  frame.title = (me && me.getAttribute("data-title")) || "Survey";
  frame.loading = "lazy";
  frame.style.cssText = "width:100%;max-width:40rem;min-height:32rem;border:0;";
  (me && me.parentNode ? me.parentNode : document.body).insertBefore(frame, me ? me.nextSibling : null);
})();
