/** Black Forest Labs' API provider: the adapter, its parameter mapping and its typed "task not found" error. */
export { BflProvider, DEFAULT_BFL_API_URL, type BflProviderOptions } from './bfl-provider.js';
export { bflEndpoint, bflParams, withBflExtras, type BflBody, type BflEndpoint, type BflExtras, type BflParams } from './params.js';
export { BflTaskNotFound, readBflPoll, type BflPollOutcome } from './poll-result.js';
export { imagePromptBase64, MAX_IMAGE_PROMPT_BYTES } from './image-prompt.js';
