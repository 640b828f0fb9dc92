import { expect } from 'vitest';
import type { DispatchedInteraction, FakeMessage } from '../../fakes/discord/index.js';
import type { Harness } from './harness.js';

/** What the button and gallery tests share: finding delivered images, their buttons, and the private answers to clicks. */

/** The nth delivered image message, once its buttons are on it (they are added once its record exists). */
export async function deliveredImage(harness: Harness, nth = 0): Promise<FakeMessage> {
  const delivered = await harness.image(nth);
  await harness.fake.waitFor((c) => c.route === 'editMessage' && c.params.messageId === delivered.id && c.status === 200);
  return harness.fake.message(delivered.id)!;
}

export type Button = { custom_id: string; label: string; style: number };
export const buttons = (m: FakeMessage): Button[] => (m.components as Array<{ components: Button[] }>).flatMap((row) => row.components);
export const buttonId = (m: FakeMessage, label: string): string => buttons(m).find((b) => b.label === label)!.custom_id;

/**
 * The private answer to an interaction: an ephemeral reply as its ack (a click refused before any work), an ephemeral
 * follow-up (after a deferred update), or the edit of a modal's deferred ephemeral reply.
 */
export async function privateAnswer(harness: Harness, i: DispatchedInteraction): Promise<string> {
  type Body = { type?: number; content?: string; flags?: number; data?: { content?: string; flags?: number } };
  const call = await harness.fake.waitFor((c) => {
    if (c.params.token !== i.token || c.status >= 300) return false;
    const body = c.body as Body;
    if (c.route === 'interactionCallback') return body.type === 4;
    return (c.route === 'createFollowup' || c.route === 'editOriginal') && typeof body.content === 'string';
  });
  const body = call.body as Body;
  if (call.route === 'interactionCallback') {
    expect(body.data!.flags! & 64).toBe(64);
    return body.data!.content!;
  }
  if (call.route === 'createFollowup') expect((body.flags ?? 0) & 64).toBe(64);
  else expect(harness.fake.interactionState(i.id).ephemeral).toBe(true);
  return body.content!;
}

export function callbackOf(harness: Harness, i: DispatchedInteraction) {
  return harness.fake.waitFor((c) => c.route === 'interactionCallback' && c.params.interactionId === i.id);
}

export const dataUri = (bytes: Buffer, type = 'image/webp') => `data:${type};base64,${bytes.toString('base64')}`;
