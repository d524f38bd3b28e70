export { DeltaWriter, MAX_DELTA_BYTES } from './delta-writer';
export {
  EVENT_LOG_MAX_EVENTS,
  EVENT_LOG_TTL_MS,
  GenerationEvents,
  eventChannelOf,
  isAfter,
  parseEventMessage,
} from './generation-events';
export type { GenerationEventType, StatusData, StoredEvent } from './generation-events';
