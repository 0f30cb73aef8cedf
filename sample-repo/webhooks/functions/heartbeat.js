// Publishes a heartbeat every interval so dashboards can tell the functions are alive.
const pubnub = require("pubnub");

export default (event) => {
  return pubnub
    .publish({
      channel: "events.heartbeat",
      message: { source: "webhooks", at: new Date().toISOString() },
    })
    .then(() => event.ok())
    .catch((error) => {
      console.error("heartbeat failed", error);
      return event.ok();
    });
};
