// Forms post as plain HTML: the server function answers with a redirect (the next page, or this
// page with the refusal in its URL) and the browser loads it, so every form works without
// JavaScript. With JavaScript, this keeps what was typed when a form is refused: the post goes
// by fetch, a refusal's reason appears in the form, and only a success loads the next page. It
// also stops a second click posting the same form twice. A live island's forms and the passkey
// forms handle their own submits.
(function () {
  "use strict";

  // Attributes, not properties: a field named "method" or "action" hides the form's own.
  function attribute(form, name) {
    return (form.getAttribute(name) || "").toLowerCase();
  }

  function handledHere(form, event) {
    if (event.defaultPrevented || !(form instanceof HTMLFormElement)) return false;
    if (attribute(form, "method") !== "post" || form.hasAttribute("target")) return false;
    if (attribute(form, "enctype") === "multipart/form-data") return false;
    if (form.hasAttribute("data-passkey-add") || form.hasAttribute("data-passkey-sign-in")) return false;
    var action = new URL(form.getAttribute("action") || "", location.href);
    return action.origin === location.origin && action.pathname.indexOf("/api/") === 0;
  }

  // The reason the server wrote in the person's language (`AppError`'s variants that carry
  // one), or null: a fixed failure, for which the page carries its text (`<html data-failed>`).
  function reasonOf(body) {
    var reason = body && typeof body === "object" && !("BadRequest" in body) ? Object.values(body)[0] : null;
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
    // Never posted again by itself: the first post may have done its work before it failed.
    var failed = function () {
      form.removeAttribute("aria-busy");
      showRefusal(form, document.documentElement.getAttribute("data-failed"));
    };
    fetch(new URL(form.getAttribute("action"), location.href), {
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
        if (response.status === 401) {
          location.assign("/sign-in");
          return;
        }
        return response.json().then(function (body) {
          var reason = reasonOf(body);
          if (!reason) return failed();
          form.removeAttribute("aria-busy");
          showRefusal(form, reason);
        });
      })
      .catch(failed);
  });

  // Back to a page the browser kept: its forms are not waiting any more.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
    });
  });
})();
