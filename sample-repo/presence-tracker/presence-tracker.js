// Keeps a per-room occupancy counter in the KV store, updated on every presence event.
const db = require("kvstore");

const DELTAS = { join: 1, leave: -1, timeout: -1 };

export default (request) => {
  const { action, channel } = request.message;
  const delta = DELTAS[action];
  if (delta === undefined) {
    return request.ok();
  }

  return db
    .incrCounter(`occupancy:${channel}`, delta)
    .then(() => request.ok())
    .catch((error) => {
      console.error("occupancy update failed", channel, error);
      return request.ok();
    });
};
