import type { Message } from 'discord.js';

/** An image of a message that Edit with FLUX may edit: its link and a name to show in the select. */
export interface MessageImage {
  url: string;
  name: string;
}

/** Discord's string select takes at most 25 options. */
export const MAX_PICKABLE_IMAGES = 25;

const IMAGE_NAME = /\.(png|jpe?g|webp|gif)$/i;

/**
 * The images of a message, in order: image attachments (by content type, else by file name), then embed images (an
 * embed's image, or the thumbnail of an image link's embed). The same link twice is one image.
 */
export function messageImages(message: Pick<Message, 'attachments' | 'embeds'>): MessageImage[] {
  const images: MessageImage[] = [];
  for (const attachment of message.attachments.values()) {
    const isImage = attachment.contentType ? attachment.contentType.startsWith('image/') : IMAGE_NAME.test(attachment.name);
    if (isImage) images.push({ url: attachment.url, name: attachment.name });
  }
  for (const embed of message.embeds) {
    const url = embed.image?.url ?? (embed.data.type === 'image' ? embed.thumbnail?.url : undefined);
    if (url) images.push({ url, name: linkName(url) });
  }
  const seen = new Set<string>();
  return images.filter((i) => !seen.has(i.url) && seen.add(i.url)).slice(0, MAX_PICKABLE_IMAGES);
}

function linkName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).at(-1) ?? 'image');
  } catch {
    return 'image';
  }
}
