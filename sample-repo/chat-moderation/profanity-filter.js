// Masks blocked words in chat messages before they are delivered to subscribers.
// The word list lives in the KV store so moderators can change it without a deploy.
const db = require("kvstore");

const DEFAULT_WORDS = ["darn", "heck"];

const maskWord = (word) => "*".repeat(word.length);

export default (request) => {
  const message = request.message || {};
  if (typeof message.text !== "string") {
    return request.ok();
  }

  return db.get("moderation:blocked-words").then((stored) => {
    const words = Array.isArray(stored) && stored.length > 0 ? stored : DEFAULT_WORDS;
    let text = message.text;
    let masked = 0;
    for (const word of words) {
      const pattern = new RegExp(`\\b${word}\\b`, "gi");
      text = text.replace(pattern, (match) => {
        masked += 1;
        return maskWord(match);
      });
    }
    if (masked > 0) {
      request.message = { ...message, text, moderated: true };
    }
    return request.ok();
  }).catch((error) => {
    console.error("profanity filter failed open", error);
    return request.ok();
  });
};
