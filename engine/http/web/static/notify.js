// Every page of a signed-in person: every 20 s, ask /notifications for the tasks that came in
// since the last answer; update the menu's count and say "Có việc mới: …" in a small notice.
(function () {
  "use strict";
  var since = null;
  var region = null;

  function notice() {
    if (region) { return region; }
    region = document.createElement("div");
    region.className = "notices";
    region.setAttribute("role", "status");
    region.setAttribute("aria-live", "polite");
    document.body.appendChild(region);
    return region;
  }

  function show(task) {
    var box = document.createElement("p");
    box.className = "notice";
    var link = document.createElement("a");
    link.href = task.url;
    link.textContent = "Có việc mới: " + task.subject;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "notice-close";
    close.setAttribute("aria-label", "Đóng thông báo");
    close.textContent = "×";
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(link);
    box.appendChild(close);
    notice().appendChild(box);
  }

  function count(open) {
    var badge = document.querySelector('nav.menu a[href="/inbox"] .count');
    if (!badge) { return; }
    badge.textContent = String(open);
    badge.setAttribute("aria-label", open + " việc đang chờ");
  }

  function ask() {
    var url = "/notifications" + (since ? "?since=" + encodeURIComponent(since) : "");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (answer) {
          count(answer.open);
          if (since) { answer["new"].forEach(show); }
          since = answer.now;
        }
      })
      .catch(function () { /* offline for a moment: ask again later */ })
      .then(function () { window.setTimeout(ask, 20000); });
  }
  ask();
})();
