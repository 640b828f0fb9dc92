/** Every text the playground's server side shows a person, in one place (the page's own labels live in page/). */

/** How long a playground image is kept (Redis memory, not a chat platform's storage). */
export const WEB_IMAGE_TTL_SECONDS = 86_400;
/** Largest uploaded image prompt, in bytes (checked on the decoded bytes, before sharp reads them). */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024;
/** Largest total of the reference images uploaded with one request (each one is also at most 10 MB). */
export const MAX_REFERENCE_UPLOAD_BYTES = 16 * 1024 * 1024;

/** What the playground's API says to a person (refusals, status lines): the page shows these as they are. */
export const WEB_TEXT = {
  notLocal: (port: string) =>
    `This playground only serves people on the machine it runs on: open http://localhost:${port}/ there, or ask the operator to set PLAYGROUND_TOKEN so others can sign in.`,
  wrongHost: (port: string) => `Open the playground at http://localhost:${port}/ (other address names are refused unless PLAYGROUND_TOKEN is set).`,
  signInNeeded: 'Sign in with the playground token first.',
  wrongToken: 'That token is not right.',
  noSignIn: 'This playground needs no sign-in.',
  newSession: 'Your browser session is new or was not recognised; reload the page and try again.',
  csrf: 'Refused: this request did not come from the playground page.',
  badJson: 'The request is not valid JSON.',
  bodyTooLarge: `The request is too large: images may be at most ${MAX_REFERENCE_UPLOAD_BYTES / 1024 / 1024} MB together (an image prompt at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB).`,
  uploadTooLarge: `The image prompt is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MB; use a smaller image.`,
  uploadNotImage: 'The image prompt is not a PNG, JPEG or WebP image that can be read.',
  uploadAndLink: 'Give either an uploaded image prompt or an image prompt link, not both.',
  uploadUnsupported: (model: string) => `An image prompt is not supported by ${model}.`,
  referenceNotImage: (index: number, name: string | undefined) => `Image ${index}${name ? ` (${name})` : ''} is not a PNG, JPEG, WebP or GIF image.`,
  referencesTooLarge: `The images are larger than ${MAX_REFERENCE_UPLOAD_BYTES / 1024 / 1024} MB together; use fewer or smaller images.`,
  referenceLinks: 'Image links must be http(s) links to images, one per line.',
  uploadAndImages: 'Give either an image prompt or images to edit, not both.',
  flood: (seconds: number) => `Too many requests from this browser; wait ${seconds} s and try again.`,
  tooManyStreams: 'Too many open status streams from this browser; close some tabs.',
  notFound: 'Not found.',
  imageExpired: `This image is no longer kept (playground images are kept for ${WEB_IMAGE_TTL_SECONDS / 3600} hours).`,
  duplicate: 'This request is already being worked on.',
  noRequestId: 'The request has no request id; reload the page and try again.',
  actionTooLarge: 'The request is too large; shorten what to change.',
  editPromptEmpty: 'Say what to change: the prompt must not be empty.',
  notEditModel: (model: string, models: readonly string[]) => `${model} does not edit images; choose one of ${models.join(', ')}.`,
  badImageNumber: (max: number) => `Which image: image must be a whole number from 1 to ${max}.`,
  noSuchImage: (n: number, count: number) => `There is no image ${n} here: this result has ${count === 1 ? 'one image' : `${count} images`}.`,
  deleteNotYours: 'Only the browser session that made this image can delete it.',
  deleted: 'Deleted.',
  cancelNotYours: 'Only the browser session that started this job can cancel it.',
  cancelTooLate: 'This job has already finished; there is nothing to cancel.',
  canceled: 'Canceled; nothing was charged.',
  canceling: 'Canceling…',
  queued: (position: number) => (position > 0 ? `Queued — ${position} ahead of you.` : 'Queued — starting shortly.'),
  generating: 'Generating…',
  delivering: 'Almost done…',
  retrying: (ms: number) => `The provider is busy; trying again in ${Math.max(1, Math.round(ms / 1000))} s.`,
  done: 'Done.',
  failed: 'No image this time; nothing was charged.',
  unavailable: 'The playground is temporarily unavailable. Please try again in a minute.',
} as const;

/** A validation message from the core (`steps must be …`) as a sentence. */
export function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
