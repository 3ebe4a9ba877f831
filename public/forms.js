// Forms post as plain HTML: the server function answers with a redirect (the next page, or this
// page with the refusal in its URL) and the browser loads it, so every form works without
// JavaScript. With JavaScript, this keeps what was typed when a form is refused: the post goes
// by fetch, a refusal's reason appears in the form, and only a success loads the next page. It
// also stops a second click posting the same form twice. Islands (`#[island]`) and the passkey
// forms handle their own submits.
(function () {
  "use strict";

  function handledHere(form, event) {
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return false;
    if (form.method.toLowerCase() !== "post" || form.target) return false;
    if (form.enctype === "multipart/form-data") return false;
    if (form.hasAttribute("data-passkey-add") || form.hasAttribute("data-passkey-sign-in")) return false;
    var action = new URL(form.action, location.href);
    return action.origin === location.origin && action.pathname.indexOf("/api/") === 0;
  }

  // The reason the server wrote in the person's language (`AppError`'s variants that carry
  // one), or null for the fixed texts, which the server renders after a plain post instead.
  function reasonOf(body) {
    var reason = body && typeof body === "object" ? Object.values(body)[0] : null;
    return typeof reason === "string" ? reason : null;
  }

  function showRefusal(form, reason) {
    var shown = form.querySelector("[data-refusal], .error[role=alert]");
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "error";
      shown.setAttribute("role", "alert");
      shown.setAttribute("data-refusal", "");
      var button = form.querySelector("button[type=submit], button:not([type])");
      form.insertBefore(shown, button);
    }
    shown.textContent = reason;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!handledHere(form, event)) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    var plainPost = function () {
      // The form's own submit(): no submit event, so this handler does not run again.
      HTMLFormElement.prototype.submit.call(form);
    };
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form, event.submitter)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (response.ok) {
          var next = response.headers.get("Location");
          if (next) location.assign(next);
          else location.reload();
          return;
        }
        return response.json().then(function (body) {
          var reason = reasonOf(body);
          if (!reason) return plainPost();
          form.removeAttribute("aria-busy");
          showRefusal(form, reason);
        });
      })
      .catch(plainPost);
  });

  // Back to a page the browser kept: its forms are not waiting any more.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
    });
  });
})();
