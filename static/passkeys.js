// tessera passkeys: the WebAuthn calls a page cannot make without script.
// On /account it adds a passkey (navigator.credentials.create); on a
// journey's `passkey` step it signs in with one (navigator.credentials.get).
// Options arrive as JSON with binary members in base64url, and answers go
// back the same way (W3C WebAuthn's JSON forms).
(function () {
  "use strict";
  function bytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }
  function text(buffer) {
    if (!buffer) return null;
    var view = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < view.length; i++) raw += String.fromCharCode(view[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  function answer(credential, response) {
    return JSON.stringify({
      id: credential.id,
      rawId: text(credential.rawId),
      type: credential.type,
      response: response,
      extensions: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    });
  }
  function fail(message, error) {
    var node = document.getElementById("passkey-message");
    if (node) { node.textContent = message + (error && error.name ? " (" + error.name + ")" : ""); node.hidden = false; }
  }
  if (!window.PublicKeyCredential) {
    fail("This browser cannot use passkeys.");
    return;
  }

  // /account: add a passkey.
  var add = document.querySelector("form[data-passkey-register]");
  if (add) {
    add.hidden = false;
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(add.action, { method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(add)) })
        .then(function (r) { if (!r.ok) throw new Error("refused"); return r.json(); })
        .then(function (options) {
          var pk = options.publicKey;
          pk.challenge = bytes(pk.challenge);
          pk.user.id = bytes(pk.user.id);
          pk.excludeCredentials = descriptors(pk.excludeCredentials);
          return navigator.credentials.create({ publicKey: pk });
        })
        .then(function (credential) {
          var finish = document.getElementById("passkey-finish");
          finish.elements.credential.value = answer(credential, {
            attestationObject: text(credential.response.attestationObject),
            clientDataJSON: text(credential.response.clientDataJSON),
            transports: credential.response.getTransports ? credential.response.getTransports() : []
          });
          finish.submit();
        })
        .catch(function (error) { fail("The passkey was not added. Reload the page and try again.", error); });
    });
  }

  // A journey's `passkey` step: the options are on the field.
  var input = document.querySelector("input[data-webauthn]");
  if (input) {
    var form = input.form;
    form.addEventListener("submit", function (event) {
      if (input.value) return;
      event.preventDefault();
      var pk = JSON.parse(input.getAttribute("data-webauthn")).publicKey;
      pk.challenge = bytes(pk.challenge);
      pk.allowCredentials = descriptors(pk.allowCredentials);
      navigator.credentials.get({ publicKey: pk })
        .then(function (credential) {
          input.value = answer(credential, {
            authenticatorData: text(credential.response.authenticatorData),
            clientDataJSON: text(credential.response.clientDataJSON),
            signature: text(credential.response.signature),
            userHandle: text(credential.response.userHandle)
          });
          form.submit();
        })
        .catch(function (error) { fail("No passkey was used. Try again.", error); });
    });
  }
})();
