// Copies every chat message, with who sent it and when, to the audit channel.
// AFTER_PUBLISH cannot change the message; it only observes it.
const pubnub = require("pubnub");

export default (request) => {
  const entry = {
    channel: request.channels[0],
    publisher: request.params.uuid,
    timetoken: request.message && request.message.timetoken,
    receivedAt: new Date().toISOString(),
    message: request.message,
  };

  return pubnub
    .publish({ channel: "audit.chat", message: entry })
    .then(() => request.ok())
    .catch((error) => {
      console.error("audit publish failed", error);
      return request.ok();
    });
};
