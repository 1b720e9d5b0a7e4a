// New results (a finished diagnosis, a vendor call's answer) reload the page — but never under
// someone who is typing: once a form on the page has been opened or edited, the reload waits
// and a notice says new results are in, so nothing typed is lost.
(function () {
  var editing = false;
  document.addEventListener("input", function (e) { if (e.target.form) { editing = true; } });
  document.addEventListener("change", function (e) { if (e.target.form) { editing = true; } });
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-bs-toggle='collapse']")) { editing = true; }
  });
  document.addEventListener("htmx:beforeOnLoad", function (e) {
    var xhr = e.detail.xhr;
    if (!editing || !xhr || xhr.getResponseHeader("HX-Refresh") !== "true") { return; }
    e.preventDefault();
    if (document.getElementById("refresh-notice")) { return; }
    var notice = document.createElement("div");
    notice.id = "refresh-notice";
    notice.className = "alert alert-info d-flex flex-wrap align-items-center gap-2";
    notice.setAttribute("role", "status");
    notice.textContent = "New results are in. ";
    var link = document.createElement("a");
    link.href = window.location.href.split("#")[0];
    link.className = "alert-link";
    link.textContent = "Reload to see them";
    notice.appendChild(link);
    notice.appendChild(document.createTextNode(" (the form you are filling in is not sent)."));
    var main = document.getElementById("content");
    if (main) { main.insertBefore(notice, main.firstChild); }
  });
})();
