/**
 * A local fake Slack for end-to-end tests of the real Bolt app. See README.md next to this file.
 */
export { FakeSlack, type AppAnswer, type DeliveryOptions, type EventDeliveryOptions, type ViewSubmissionInput } from './fake-slack.js';
export type { ResponseUrlPost } from './core.js';
export type { FakeSlackConfig, FakeSlackOptions } from './config.js';
export { signSlackRequest, type HttpAnswer, type SignOptions } from './inbound-http.js';
export type { MissingShares } from './methods-files.js';
export type { BlockActionInput, MessageShortcutInput, SlashCommandInput } from './payloads.js';
export { checkBlocks, checkView, type Surface } from './block-rules.js';
export type { SocketAck, SocketAnswer } from './socket.js';
export { stateValues, type ViewInputs } from './view-state.js';
export type { WebApiCall } from './web-api.js';
export type {
  FakeChannelInit,
  FakeEphemeral,
  FakeFile,
  FakeMessage,
  FakeReaction,
  FakeUserInit,
  FakeView,
  ShareEntry,
} from './workspace.js';
export { boltAppOptions, RecordingLogger, startBoltApp, type SlackMode, type StartedApp } from './bolt-app.js';
