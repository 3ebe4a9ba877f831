// Passkeys: the browser's half of the WebAuthn ceremonies (docs/security.md). The server gives
// the options and checks the answer; this file only carries them between the page and
// navigator.credentials. A passkey form (data-passkey-sign-in, data-passkey-add) is a plain
// HTML form: this file asks its data-begin server function for a ceremony, lets the browser
// make or use the key, puts the answer in the form's hidden fields and submits it, so the
// server answers with the same redirect (and session cookie, or error) as any other form.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="passkey-origin"]');
  if (!meta || meta.content !== location.origin || !window.PublicKeyCredential) {
    return; // the forms stay hidden (style/main.css)
  }
  document.documentElement.setAttribute("data-passkeys", "on");
  // A page restored from the back-forward cache keeps a form marked busy: free it.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy]").forEach(function (form) {
      form.removeAttribute("aria-busy");
    });
  });

  function bytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); });
  }

  function base64url(buffer) {
    var binary = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // WebAuthn's dictionaries take a missing member, never null.
  function withoutNulls(value) {
    if (Array.isArray(value)) return value.map(withoutNulls);
    if (value && typeof value === "object") {
      var copy = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null) copy[key] = withoutNulls(value[key]);
      });
      return copy;
    }
    return value;
  }

  function withIds(descriptors) {
    return (descriptors || []).map(function (d) { d.id = bytes(d.id); return d; });
  }

  function create(optionsJson) {
    var options = withoutNulls(JSON.parse(optionsJson)).publicKey;
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    options.excludeCredentials = withIds(options.excludeCredentials);
    return navigator.credentials.create({ publicKey: options }).then(function (key) {
      var response = key.response;
      return {
        id: key.id,
        rawId: base64url(key.rawId),
        type: key.type,
        extensions: key.getClientExtensionResults(),
        response: {
          attestationObject: base64url(response.attestationObject),
          clientDataJSON: base64url(response.clientDataJSON),
          transports: response.getTransports ? response.getTransports() : undefined,
        },
      };
    });
  }

  // Asked on a button press (the browser's own dialog), whatever `mediation` the options name.
  function get(optionsJson) {
    var options = withoutNulls(JSON.parse(optionsJson)).publicKey;
    options.challenge = bytes(options.challenge);
    options.allowCredentials = withIds(options.allowCredentials);
    return navigator.credentials.get({ publicKey: options }).then(function (key) {
      var response = key.response;
      return {
        id: key.id,
        rawId: base64url(key.rawId),
        type: key.type,
        extensions: key.getClientExtensionResults(),
        response: {
          authenticatorData: base64url(response.authenticatorData),
          clientDataJSON: base64url(response.clientDataJSON),
          signature: base64url(response.signature),
          userHandle: response.userHandle ? base64url(response.userHandle) : null,
        },
      };
    });
  }

  // A refused server function answers its reason as JSON: {"Conflict": "…"}.
  function refusal(response) {
    return response.json().then(
      function (body) {
        var reason = body && typeof body === "object" ? Object.values(body)[0] : null;
        throw { reason: typeof reason === "string" ? reason : null };
      },
      function () { throw { reason: null }; }
    );
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var adding = form.hasAttribute("data-passkey-add");
    if (!adding && !form.hasAttribute("data-passkey-sign-in")) return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    var error = form.querySelector("[data-passkey-error]");
    error.hidden = true;
    fetch(form.getAttribute("data-begin"), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      credentials: "same-origin",
    })
      .then(function (response) { return response.ok ? response.json() : refusal(response); })
      .then(function (ceremony) {
        return (adding ? create : get)(ceremony.options).then(function (answer) {
          form.elements.ceremony.value = ceremony.ceremony;
          form.elements.answer.value = JSON.stringify(answer);
          // The form's own submit(): no submit event, so this handler does not run again.
          HTMLFormElement.prototype.submit.call(form);
        });
      })
      .catch(function (failure) {
        form.removeAttribute("aria-busy");
        var cancelled = failure && failure.name === "NotAllowedError";
        error.textContent = (failure && failure.reason) ||
          error.getAttribute(cancelled ? "data-cancelled" : "data-failed");
        error.hidden = false;
      });
  });
})();
