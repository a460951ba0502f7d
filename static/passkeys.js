// Passkeys (WebAuthn): buttons marked data-passkey="sign-in|second-factor|register".
// The server sends options as JSON with base64url strings; this file turns them into the
// ArrayBuffers the browser API wants, and the answer back into JSON. No inline script: the CSP
// forbids it.
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return { publicKey: options };
  }

  function requestOptions(options) {
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    return { publicKey: options };
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) json.response.transports = response.getTransports();
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return json;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().then(
        function (data) {
          if (!response.ok) throw new Error(data.error || "Something went wrong. Please try again.");
          return data;
        },
        function () {
          throw new Error("Something went wrong (" + response.status + "). Please try again.");
        }
      );
    });
  }

  function showError(button, message) {
    var box = button.closest("section").querySelector(".passkey-error");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function run(button) {
    var kind = button.getAttribute("data-passkey");
    var csrf = button.getAttribute("data-csrf");
    button.disabled = true;
    post(button.getAttribute("data-options"), csrf)
      .then(function (options) {
        if (kind === "register") return navigator.credentials.create(creationOptions(options));
        return navigator.credentials.get(requestOptions(options));
      })
      .then(function (credential) {
        if (!credential) throw new Error("No passkey was chosen.");
        var body = { credential: credentialJSON(credential) };
        var nameInput = document.getElementById(button.getAttribute("data-name-input") || "");
        if (nameInput) body.name = nameInput.value;
        return post(button.getAttribute("data-verify"), csrf, body);
      })
      .then(function (result) {
        window.location.assign(result.redirect || "/");
      })
      .catch(function (error) {
        button.disabled = false;
        var cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
        showError(button, cancelled ? "The passkey request was cancelled or timed out." : error.message);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.PublicKeyCredential) return;
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        run(button);
      });
    });
  });
})();
