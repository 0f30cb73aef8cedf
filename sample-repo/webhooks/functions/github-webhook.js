// Receives GitHub webhooks, checks the HMAC signature and republishes the event on PubNub.
const crypto = require("crypto");
const pubnub = require("pubnub");
const vault = require("vault");

export default (request, response) => {
  const signature = request.headers["x-hub-signature-256"] || "";
  const event = request.headers["x-github-event"] || "unknown";

  return vault.get("github-webhook-secret").then((secret) => {
    return crypto.hmac(secret, request.body, crypto.ALGORITHM.HMAC_SHA256).then((digest) => {
      if (signature !== `sha256=${digest}`) {
        response.status = 401;
        return response.send({ error: "bad signature" });
      }

      const payload = JSON.parse(request.body);
      return pubnub
        .publish({
          channel: "events.github",
          message: { event, repository: payload.repository && payload.repository.full_name },
        })
        .then(() => {
          response.status = 202;
          return response.send({ accepted: true });
        });
    });
  }).catch((error) => {
    console.error("webhook failed", error);
    response.status = 500;
    return response.send({ error: "internal error" });
  });
};
