// Tell the server the browser's time zone (the `tz` cookie): the next page shows local times.
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  var current = document.cookie.split("; ").find(function (c) { return c.indexOf("tz=") === 0; });
  var value = encodeURIComponent(zone);
  if (current !== "tz=" + value) {
    document.cookie = "tz=" + value + "; path=/; max-age=31536000; SameSite=Lax";
    var shown = document.querySelector("[data-time-zone]");
    if (shown && shown.getAttribute("data-time-zone") !== zone) {
      shown.textContent = "Times in " + shown.getAttribute("data-time-zone") + " (yours, " + zone + ", from the next page on)";
    }
  }
})();
