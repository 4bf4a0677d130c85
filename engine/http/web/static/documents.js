// The document page: while the document may move without this person (a signature on the
// leader's token, a colleague's action), ask every 2 s whether it did and reload when so.
(function () {
  "use strict";
  var state = document.querySelector('meta[name="document-state"]');
  var url = document.querySelector('meta[name="document-state-url"]');
  if (!state || !url) { return; }
  var known = state.getAttribute("content");
  var leaving = false;
  // a form sent from this page leads to the next page itself: never reload over its answer
  document.addEventListener("submit", function () { leaving = true; });
  function ask() {
    if (leaving) { return; }
    fetch(url.getAttribute("content"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (leaving) { return; }
        if (answer && answer.state && answer.state !== known) {
          window.location.reload();
          return;
        }
        window.setTimeout(ask, 2000);
      })
      .catch(function () { window.setTimeout(ask, 2000); });
  }
  window.setTimeout(ask, 2000);
})();
