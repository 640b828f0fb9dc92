/** A fake Discord (REST v10, gateway, CDN) for end-to-end tests with the real discord.js client. */
export { FakeDiscord, type DispatchedInteraction, type FakeDiscordOptions, type ReactionInit } from './fake-discord.js';
export type { Fault, RouteMatcher } from './faults.js';
export { GATEWAY_PATH, RESUME_PATH, shardOf, type GatewayConnection, type GatewayDispatch, type GatewayFrame, type GatewaySessionInfo } from './gateway.js';
export type { DiscordCall, DiscordRoute } from './http.js';
export type { InteractionInit, OptionValue } from './interaction.js';
export type { DiscordSettings } from './routes/context.js';
export { DEFAULT_BOT_PERMISSIONS, DEFAULT_EVERYONE_PERMISSIONS, DEFAULT_GUILD } from './state.js';
export type * from './types.js';
